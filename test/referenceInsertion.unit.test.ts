import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceText } from '../extension/workspace/referenceInsertion.ts';

test('Markdown gets an image with escaped alt text and a URL-safe path', () => {
  assert.equal(
    referenceText({ languageId: 'markdown', relativePath: 'assets/generated/open-24-7.png', alt: 'a sign "OPEN [24/7]"' }),
    '![a sign "OPEN \\[24/7\\]"](assets/generated/open-24-7.png)',
  );
  assert.equal(referenceText({ languageId: 'markdown', relativePath: '../my images/a b.png', alt: 'x' }), '![x](../my%20images/a%20b.png)');
});

test('HTML gets an <img> with escaped attributes and the indentation of the comment', () => {
  assert.equal(
    referenceText({ languageId: 'html', relativePath: 'img/a.png', alt: 'say "hi" <b>', indent: '    ' }),
    '    <img src="img/a.png" alt="say &quot;hi&quot; &lt;b&gt;">',
  );
});

test('CSS gets a url() declaration', () => {
  assert.equal(referenceText({ languageId: 'scss', relativePath: '../assets/x.png', alt: 'x', indent: '  ' }), '  background-image: url("../assets/x.png");');
});

test('code gets a comment in its own syntax', () => {
  assert.equal(referenceText({ languageId: 'typescript', relativePath: 'assets/a.png', alt: 'x', indent: '  ' }), '  // image: assets/a.png');
  assert.equal(referenceText({ languageId: 'python', relativePath: 'a.png', alt: 'x' }), '# image: a.png');
  assert.equal(referenceText({ languageId: 'sql', relativePath: 'a.png', alt: 'x' }), '-- image: a.png');
  assert.equal(referenceText({ languageId: 'xml', relativePath: 'a.png', alt: 'x' }), '<!-- image: a.png -->');
});
