import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClipTokenizerError, loadClipTokenizer } from '../runtime/tokenizer/clipTokenizer.ts';
import type { ClipTokenizer } from '../runtime/tokenizer/clipTokenizer.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';

interface ReferenceCase {
  prompt: string;
  input_ids: number[];
  untruncated_length: number;
}
const reference = JSON.parse(readFileSync(join(referenceDir, 'tokenizer-cases.json'), 'utf8')) as {
  pad_token_id: number;
  cases: ReferenceCase[];
};
const vocab = JSON.parse(readFileSync(join(tinyModelDir, 'tokenizer/vocab.json'), 'utf8')) as Record<string, number>;
const tokenById = new Map(Object.entries(vocab).map(([token, id]) => [id, token]));
const id = (token: string) => {
  const value = vocab[token];
  assert.ok(value !== undefined, `${token} is not in the vocabulary`);
  return value;
};
const bos = id('<|startoftext|>');
const eos = id('<|endoftext|>');

// GPT-2/CLIP byte-level alphabet, inverted: stand-in character -> byte.
const byteOf = new Map<string, number>();
{
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    byteOf.set(String.fromCharCode(printable ? b : next++), b);
  }
}

let tokenizer: ClipTokenizer;
before(async () => {
  tokenizer = await loadClipTokenizer(tinyModelDir);
});

const content = (text: string) => {
  const { inputIds, untruncatedLength } = tokenizer.encode(text);
  return inputIds.slice(1, Math.min(untruncatedLength, tokenizer.maxLength) - 1);
};
const tokens = (text: string) => content(text).map((i) => tokenById.get(i));
/** The words the ids spell: bytes decoded as UTF-8, "</w>" ending a word. */
const words = (ids: number[]) => {
  const spelled = ids.map((i) => tokenById.get(i)!).join('');
  return spelled
    .split('</w>')
    .filter((w) => w !== '')
    .map((w) => Buffer.from(Array.from(w, (c) => byteOf.get(c)!)).toString('utf8'));
};

describe('CLIP tokenizer against the reference cases', () => {
  test('every reference case gives exactly the reference ids and untruncated length', () => {
    assert.ok(reference.cases.length >= 10);
    for (const c of reference.cases) {
      const { inputIds, untruncatedLength } = tokenizer.encode(c.prompt);
      assert.deepEqual(inputIds, c.input_ids, JSON.stringify(c.prompt));
      assert.equal(untruncatedLength, c.untruncated_length, JSON.stringify(c.prompt));
      // untruncated_length counts the start and end tokens, so the prompt alone is 2 fewer.
      assert.equal(tokenizer.countContentTokens(c.prompt), c.untruncated_length - 2);
    }
  });

  test('SD2 settings come from the tokenizer folder: 77 ids, padded with "!" = 0', () => {
    assert.equal(tokenizer.maxLength, 77);
    assert.equal(tokenizer.padTokenId, reference.pad_token_id);
    assert.equal(tokenizer.padTokenId, id('!'));
    assert.equal(tokenizer.bosTokenId, 49406);
    assert.equal(tokenizer.eosTokenId, 49407);
  });
});

describe('CLIP tokenizer on prompts beyond the reference cases', () => {
  test('English contractions are split off the word, case-insensitively', () => {
    assert.deepEqual(tokens("don't"), ['don</w>', "'t</w>"]);
    assert.deepEqual(tokens("It's THEY'RE we'll I'VE"), ['it</w>', "'s</w>", 'they</w>', "'re</w>", 'we</w>', "'ll</w>", 'i</w>', "'ve</w>"]);
    // An apostrophe that starts no contraction is punctuation of its own.
    assert.deepEqual(tokens("rock'n'roll"), ['rock</w>', "'</w>", 'n</w>', "'</w>", 'roll</w>']);
  });

  test('any run of whitespace, Unicode spaces included, is one separator; leading and trailing ones vanish', () => {
    const plain = content('a b c');
    for (const spaced of ['a  b\tc', ' a\n\nb \r\n c  ', 'a\u00a0b\u3000c', 'a\u2003b\u2028c', 'a\u0085b\u000bc']) {
      assert.deepEqual(content(spaced), plain, JSON.stringify(spaced));
    }
    // The reference's \s lacks U+FEFF and U+200B: they stay, as punctuation-like tokens.
    assert.notDeepEqual(content('a\ufeffb c'), plain);
    assert.deepEqual(words(content('x\u200by')), ['x', '\u200b', 'y']);
  });

  test('text is lower-cased and NFC-normalised; capital sigma lowers to σ one code point at a time', () => {
    assert.deepEqual(content('OPEN Sign'), content('open sign'));
    assert.deepEqual(content('Cafe\u0301'), content('caf\u00e9'));
    assert.deepEqual(words(content('Café')), ['café']);
    assert.deepEqual(content('ΟΔΟΣ'), content('οδοσ'));
    assert.notDeepEqual(content('ΟΔΟΣ'), content('οδος'));
  });

  test('letters group into words in any script, digits stand alone, punctuation runs together', () => {
    assert.deepEqual(words(content('Привет мир')), ['привет', 'мир']);
    assert.deepEqual(words(content('naïve résumé')), ['naïve', 'résumé']);
    assert.deepEqual(words(content('مرحبا بالعالم')), ['مرحبا', 'بالعالم']);
    // Han characters are letters, so a run is one word (the reference adds no spaces around them).
    assert.deepEqual(words(content('日本語のテキスト')), ['日本語のテキスト']);
    assert.deepEqual(words(content('日 本 語')), ['日', '本', '語']);
    // Devanagari vowel signs are marks, not letters: they split the word.
    assert.deepEqual(words(content('हिन्दी')), ['ह', 'ि', 'न', '्', 'द', 'ी']);
    assert.deepEqual(tokens('2024'), ['2</w>', '0</w>', '2</w>', '4</w>']);
    assert.deepEqual(words(content('½ ٣x')), ['½', '٣', 'x']);
    assert.deepEqual(words(content('...?? -- (ok)')), ['...??', '--', '(', 'ok', ')']);
  });

  test('emoji are punctuation-like: a run of them is one word', () => {
    assert.deepEqual(words(content('🚀🚀 👍🏽')), ['🚀🚀', '👍🏽']);
    assert.deepEqual(words(content('go🚀')), ['go', '🚀']);
  });

  test('special tokens are cut out of the raw text first: "!" is the pad token', () => {
    assert.deepEqual(tokens('wow!!'), ['wow</w>', '!', '!']);
    assert.deepEqual(content('🚀!x'), [...content('🚀'), id('!'), ...content('x')]);
    assert.deepEqual(content('end<|endoftext|>start'), [...content('end'), eos, ...content('start')]);
    assert.deepEqual(content('<|startoftext|>'), [bos]);
    // Each "!" is its own token however long the run (and the split stays linear in the length).
    const started = performance.now();
    assert.equal(tokenizer.countContentTokens('!'.repeat(20_000)), 20_000);
    assert.ok(performance.now() - started < 2000);
  });

  test('control characters are kept as byte tokens, not dropped', () => {
    assert.deepEqual(words(content('a\u0000b')), ['a', '\u0000', 'b']);
    assert.equal(content('a\u0000b').length, 3);
  });

  test('truncation keeps 75 prompt tokens and ends with <|endoftext|>', () => {
    const exact = tokenizer.encode(Array(75).fill('a').join(' '));
    assert.equal(exact.untruncatedLength, 77);
    assert.equal(exact.inputIds[76], eos);
    assert.ok(exact.inputIds.slice(1, 76).every((i) => i === id('a</w>')));

    const over = tokenizer.encode(Array(76).fill('a').join(' ') + ' zebra');
    assert.equal(over.untruncatedLength, 79);
    assert.equal(over.inputIds.length, 77);
    assert.equal(over.inputIds[0], bos);
    assert.equal(over.inputIds[76], eos);
    assert.ok(!over.inputIds.includes(id('zebra</w>')));
    assert.equal(tokenizer.countContentTokens(Array(76).fill('a').join(' ') + ' zebra'), 77);
  });

  test('repeated words reuse the cache and stay identical', () => {
    const prompt = 'typography poster with bold letters '.repeat(4);
    const first = tokenizer.encode(prompt);
    const started = performance.now();
    for (let i = 0; i < 200; i++) tokenizer.encode(prompt);
    const perPromptMs = (performance.now() - started) / 200;
    assert.deepEqual(tokenizer.encode(prompt), first);
    assert.ok(perPromptMs < 5, `${perPromptMs} ms per prompt`);
  });
});

describe('loading a tokenizer folder', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'letterpress-tok-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function modelWith(name: string, files: Record<string, string | 'link'>): Promise<string> {
    const tokenizerDir = join(dir, name, 'tokenizer');
    await mkdir(tokenizerDir, { recursive: true });
    for (const [file, contents] of Object.entries(files)) {
      if (contents === 'link') await symlink(join(tinyModelDir, 'tokenizer', file), join(tokenizerDir, file));
      else await writeFile(join(tokenizerDir, file), contents);
    }
    return join(dir, name);
  }

  test('a missing or partial folder names what is missing', async () => {
    await assert.rejects(loadClipTokenizer(join(dir, 'nothing-here')), (error: unknown) => {
      assert.ok(error instanceof ClipTokenizerError);
      assert.match(error.message, /vocab\.json, merges\.txt, tokenizer_config\.json are missing/);
      return true;
    });
    const partial = await modelWith('partial', { 'vocab.json': 'link' });
    await assert.rejects(loadClipTokenizer(partial), /merges\.txt, tokenizer_config\.json are missing/);
  });

  test('damaged files give clear errors', async () => {
    const broken = await modelWith('broken', { 'vocab.json': '{"a": 1', 'merges.txt': 'link', 'tokenizer_config.json': 'link' });
    await assert.rejects(loadClipTokenizer(broken), /vocab\.json is not valid JSON/);
    const noPad = await modelWith('nopad', {
      'vocab.json': 'link',
      'merges.txt': 'link',
      'tokenizer_config.json': JSON.stringify({ pad_token: '<pad>', model_max_length: 77 }),
    });
    await assert.rejects(loadClipTokenizer(noPad), /padding token "<pad>" is not in the vocabulary/);
  });

  test('an SD1-style config pads with <|endoftext|>; special_tokens_map.json overrides tokenizer_config.json', async () => {
    const sd1 = await modelWith('sd1', {
      'vocab.json': 'link',
      'merges.txt': 'link',
      'tokenizer_config.json': JSON.stringify({ pad_token: '!', model_max_length: 77 }),
      'special_tokens_map.json': JSON.stringify({
        pad_token: { content: '<|endoftext|>', normalized: true },
        bos_token: '<|startoftext|>',
        eos_token: '<|endoftext|>',
        unk_token: '<|endoftext|>',
      }),
    });
    const sd1Tokenizer = await loadClipTokenizer(sd1);
    assert.equal(sd1Tokenizer.padTokenId, eos);
    const { inputIds } = sd1Tokenizer.encode('a red sign');
    assert.deepEqual(inputIds.slice(0, 6), [bos, id('a</w>'), id('red</w>'), id('sign</w>'), eos, eos]);
    // "!" is no special token here, so it is ordinary punctuation.
    assert.deepEqual(sd1Tokenizer.encode('wow!!').inputIds.slice(1, 3), [id('wow</w>'), id('!!</w>')]);
  });

  test('tokens listed under added_tokens_decoder are matched before BPE, like the roles', async () => {
    const added = await modelWith('added', {
      'vocab.json': 'link',
      'merges.txt': 'link',
      'tokenizer_config.json': JSON.stringify({
        pad_token: '!',
        model_max_length: 77,
        added_tokens_decoder: {
          '0': { content: '!', lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
          '49405': { content: '<logo>', normalized: false, special: true },
        },
      }),
    });
    const withAdded = await loadClipTokenizer(added);
    assert.deepEqual(withAdded.encode('my <logo> here!').inputIds.slice(0, 6), [bos, id('my</w>'), 49405, id('here</w>'), 0, eos]);
    // Without the entry the same text is ordinary punctuation and letters.
    assert.ok(content('<logo>').length > 1);
  });

  test('the fixture tokenizer files load from a copy too (no dependence on the fixture path)', async () => {
    const copy = join(dir, 'copy', 'tokenizer');
    await mkdir(copy, { recursive: true });
    for (const file of ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
      await copyFile(join(tinyModelDir, 'tokenizer', file), join(copy, file));
    }
    const copied = await loadClipTokenizer(join(dir, 'copy'));
    assert.deepEqual(copied.encode(reference.cases[1].prompt).inputIds, reference.cases[1].input_ids);
  });
});
