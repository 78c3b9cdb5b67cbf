import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BytePairEncoder } from '../runtime/tokenizer/bytePairEncoder.ts';
import { tinyModelDir } from './fixturePaths.ts';

const vocab = new Map(Object.entries(JSON.parse(readFileSync(join(tinyModelDir, 'tokenizer/vocab.json'), 'utf8')) as Record<string, number>));
const mergeLines = readFileSync(join(tinyModelDir, 'tokenizer/merges.txt'), 'utf8').split('\n').slice(1).filter(Boolean);
const ranks = new Map(mergeLines.map((line, rank) => [line, rank]));
const unknown = vocab.get('<|endoftext|>')!;

/** BPE by its definition: repeatedly merge the adjacent pair of lowest rank (the leftmost on ties). */
function definitionalBpe(symbols: string[]): number[] {
  for (;;) {
    let best = -1;
    for (let i = 0; i < symbols.length - 1; i++) {
      const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
      if (rank !== undefined && (best < 0 || rank < ranks.get(`${symbols[best]} ${symbols[best + 1]}`)!)) best = i;
    }
    if (best < 0) return symbols.map((s) => vocab.get(s) ?? unknown);
    symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
  }
}

test('the heap-ordered merges give what the definition gives, on many words', () => {
  const encoder = new BytePairEncoder(vocab, ranks, unknown);
  // Letters only (so the byte-level spelling is the word itself), with repeats that make ties.
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = 'aaabcdeeeefghiilmnnoorssttuy';
  for (let n = 0; n < 300; n++) {
    const length = 1 + Math.floor(random() * 24);
    const word = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const spelled = [...word];
    spelled[spelled.length - 1] += '</w>';
    assert.deepEqual(encoder.encodeWord(word), definitionalBpe(spelled), word);
  }
  for (const word of ['aaaaaaaaa', 'lalalalala', 'mississippi', 'typography']) {
    const spelled = [...word];
    spelled[spelled.length - 1] += '</w>';
    assert.deepEqual(encoder.encodeWord(word), definitionalBpe(spelled), word);
  }
});

test('a pasted 16,000-character word is encoded without a quadratic slowdown', () => {
  const encoder = new BytePairEncoder(vocab, ranks, unknown);
  const word = Array.from({ length: 16_000 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'[(i * 7) % 26]).join('');
  const started = performance.now();
  const ids = encoder.encodeWord(word);
  const elapsed = performance.now() - started;
  assert.ok(ids.length > 1000);
  // A scan-all-pairs merge loop took about 27 s here; the heap takes well under a second.
  assert.ok(elapsed < 3000, `${elapsed} ms`);
});
