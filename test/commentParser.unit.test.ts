import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findCommentAt, imageRequestAt, parseImageRequest } from '../extension/comments/commentParser.ts';

function at(source: string, languageId: string, line: number, character = 0) {
  return imageRequestAt(source.split('\n'), languageId, line, character);
}

describe('comment parser: finding the comment', () => {
  test('TypeScript line comment with an image marker and inline size', () => {
    const src = ['const a = 1;', '// image 1024x256: a neon sign that says "OPEN 24/7"', 'export {};'].join('\n');
    const r = at(src, 'typescript', 1, 5)!;
    assert.equal(r.prompt, 'a neon sign that says "OPEN 24/7"');
    assert.equal(r.width, 1024);
    assert.equal(r.height, 256);
    assert.deepEqual([r.comment.startLine, r.comment.endLine, r.comment.kind], [1, 1, 'line']);
  });

  test('a run of line comments is one prompt; blank comment lines split paragraphs', () => {
    const src = ['  // intro paragraph', '  //', '  // TODO: image: a wooden sign', '  // reading "WELCOME"', '  // in gold letters', 'call();'].join('\n');
    const r = at(src, 'javascript', 3)!;
    assert.equal(r.prompt, 'a wooden sign reading "WELCOME" in gold letters');
    assert.deepEqual([r.comment.startLine, r.comment.endLine], [2, 4]);
    assert.equal(r.comment.indent, '  ');
    assert.equal(at(src, 'javascript', 0)!.prompt, 'intro paragraph');
  });

  test('JSDoc block comment with gutters, cursor on any of its lines', () => {
    const src = ['/**', ' * image: a logo with the word "Lumen"', ' *   on a dark background', ' */', 'function f() {}'].join('\n');
    for (const line of [0, 1, 2, 3]) {
      const r = at(src, 'typescript', line)!;
      assert.equal(r.prompt, 'a logo with the word "Lumen" on a dark background', `line ${line}`);
      assert.deepEqual([r.comment.startLine, r.comment.endLine, r.comment.kind], [0, 3, 'block']);
      assert.equal(r.comment.endCharacter, 3);
    }
    assert.equal(at(src, 'typescript', 4), undefined);
  });

  test('single-line block comment in CSS', () => {
    const src = '.hero {\n  /* image 768x512: a cafe menu board */\n  color: red;\n}';
    const r = at(src, 'css', 1)!;
    assert.equal(r.prompt, 'a cafe menu board');
    assert.equal(r.width, 768);
    assert.equal(at(src, 'css', 2), undefined);
  });

  test('Python hash comments and docstrings', () => {
    const src = ['def f():', '    """Image: a poster that says "SALE"', '    with red letters', '    """', '    # image: a robot icon', '    return 1'].join('\n');
    assert.equal(at(src, 'python', 2)!.prompt, 'a poster that says "SALE" with red letters');
    assert.equal(at(src, 'python', 4)!.prompt, 'a robot icon');
    assert.equal(at(src, 'python', 5), undefined);
  });

  test('SQL and Lua double-dash comments', () => {
    assert.equal(at('-- image: a database icon\nSELECT 1;', 'sql', 0)!.prompt, 'a database icon');
    assert.equal(at('local x = 1 -- FIXME: banner "GAME OVER"', 'lua', 0)!.prompt, 'banner "GAME OVER"');
  });

  test('HTML and Markdown comments', () => {
    const md = ['# Title', '', '<!-- image 1024x256: a banner that says "Letterpress" -->', '', 'Text.'].join('\n');
    const r = at(md, 'markdown', 2, 10)!;
    assert.equal(r.prompt, 'a banner that says "Letterpress"');
    assert.deepEqual([r.width, r.height], [1024, 256]);
    assert.equal(at(md, 'markdown', 0), undefined, 'a heading is not a comment');
    const htmlSrc = '<div>\n  <!--\n    image: a shop sign\n  -->\n</div>';
    assert.equal(at(htmlSrc, 'html', 2)!.prompt, 'a shop sign');
    assert.equal(at(htmlSrc, 'html', 0), undefined);
  });

  test('shell, YAML and Ruby hash comments; a hash inside a string is not a comment', () => {
    assert.equal(at('echo "#nope" # image: terminal icon', 'shellscript', 0)!.prompt, 'terminal icon');
    assert.equal(at('color: "#ffffff"', 'yaml', 0), undefined);
    assert.equal(at('# TODO image: a ruby gem', 'ruby', 0)!.prompt, 'a ruby gem');
  });

  test('trailing comments after code; markers inside strings are ignored', () => {
    assert.equal(at('const url = "http://example.com"; // image: a link icon', 'typescript', 0)!.prompt, 'a link icon');
    assert.equal(at('const url = "http://example.com";', 'typescript', 0), undefined);
    assert.equal(at('const glob = "src/*.ts";', 'typescript', 0), undefined);
  });

  test('unknown languages fall back to C-style comments', () => {
    assert.equal(at('// image: a fallback', 'some-new-language', 0)!.prompt, 'a fallback');
  });

  test('an empty comment gives no request; out-of-range lines are safe', () => {
    assert.equal(at('//\ncode', 'typescript', 0), undefined);
    assert.equal(at('/* */', 'typescript', 0), undefined);
    assert.equal(findCommentAt([''], 'typescript', 5), undefined);
  });

  test('an unterminated block comment runs to the end of the file', () => {
    const r = at('x();\n/* image: half written\n still typing', 'typescript', 2)!;
    assert.equal(r.prompt, 'half written still typing');
    assert.equal(r.comment.endLine, 2);
  });
});

describe('comment parser: markers and sizes', () => {
  test('task and image markers are removed in any order and case', () => {
    assert.deepEqual(parseImageRequest('TODO: image: a cat'), { prompt: 'a cat' });
    assert.deepEqual(parseImageRequest('todo(bob) - IMG: a cat'), { prompt: 'a cat' });
    assert.deepEqual(parseImageRequest('@image a cat'), { prompt: 'a cat' });
    assert.deepEqual(parseImageRequest('Generate image: a cat'), { prompt: 'a cat' });
    assert.deepEqual(parseImageRequest('letterpress: a cat'), { prompt: 'a cat' });
  });

  test('sizes: after the marker, in brackets, or alone before a colon', () => {
    assert.deepEqual(parseImageRequest('image 1024x256: banner'), { prompt: 'banner', width: 1024, height: 256 });
    assert.deepEqual(parseImageRequest('image (768 x 512): mockup'), { prompt: 'mockup', width: 768, height: 512 });
    assert.deepEqual(parseImageRequest('image[512×512]: icon'), { prompt: 'icon', width: 512, height: 512 });
    assert.deepEqual(parseImageRequest('640x480: photo'), { prompt: 'photo', width: 640, height: 480 });
  });

  test('words that only start like a marker stay', () => {
    assert.deepEqual(parseImageRequest('image of a cat'), { prompt: 'image of a cat' });
    assert.deepEqual(parseImageRequest('Notebook cover'), { prompt: 'Notebook cover' });
    assert.deepEqual(parseImageRequest('a sign that says "TODO: 1x2"'), { prompt: 'a sign that says "TODO: 1x2"' });
  });
});
