import assert from 'node:assert/strict';
import { test } from 'node:test';
import { legibilityChunkText, parseLegibilityChunk, type LegibilityScore } from '../runtime/png/letterpressRecord.ts';
import { compareScores } from '../runtime/legibility/legibilityScore.ts';
import { comparableText, levenshtein, scoreText } from '../runtime/legibility/textScore.ts';

test('levenshtein: textbook cases', () => {
  assert.equal(levenshtein('kitten', 'sitting'), 3);
  assert.equal(levenshtein('flaw', 'lawn'), 2);
  assert.equal(levenshtein('', 'abc'), 3);
  assert.equal(levenshtein('abc', ''), 3);
  assert.equal(levenshtein('same', 'same'), 0);
  assert.equal(levenshtein('\u{1F600}a', 'a'), 1);
});

test('exact match ignores case and whitespace, not spelling', () => {
  assert.equal(scoreText('OPEN 24/7', 'open  24/7\n').exactMatch, true);
  assert.equal(scoreText('SALE\n50% OFF', 'SALE 50% OFF').exactMatch, true);
  assert.equal(scoreText('Don\u2019t Panic', "Don't panic").exactMatch, true);
  assert.equal(scoreText('OPEN 24/7', 'OPEN 2477').exactMatch, false);
});

test('character error rate is edit distance over target length', () => {
  assert.equal(scoreText('OPEN 24/7', 'OPEN 2477').cer, 1 / 9);
  assert.equal(scoreText('OPEN', '').cer, 1);
  assert.equal(scoreText('Bean There', 'bean there').cer, 0);
  assert.throws(() => scoreText('  ', 'x'), /empty target/);
  assert.equal(comparableText(' A\tB\n C '), 'a b c');
  assert.equal(comparableText('Keep Calm & Code On'), 'keep calm&code on');
});

function score(partial: Partial<LegibilityScore>): LegibilityScore {
  return { target: 'T', ocrText: '', cer: 1, exactMatch: false, wholeCer: 1, ocrConfidence: 0, bbox: null, ...partial };
}

test('the best-fitting run of words is scored; the whole reading is kept for reference', () => {
  const inScene = scoreText('OPEN 24/7', 'PARKING\nOPEN 24/7\nEXIT');
  assert.equal(inScene.exactMatch, true);
  assert.equal(inScene.cer, 0);
  assert.deepEqual([inScene.start, inScene.end], [1, 3]);
  assert.equal(inScene.wholeCer, levenshtein('open 24/7', 'parking open 24/7 exit') / 9);

  const nearMiss = scoreText('Bean There', 'x 8 Been Thare 2');
  assert.equal(nearMiss.exactMatch, false);
  assert.equal(nearMiss.cer, 2 / 10);
  assert.deepEqual([nearMiss.start, nearMiss.end], [2, 4]);

  // Punctuation glued to the run's ends counts only where the target has some there.
  assert.equal(scoreText('OPEN 24/7', '\u201COPEN 24/7 i..').exactMatch, true);
  assert.equal(scoreText('OPEN 24/7', '|OPEN 24/7|').exactMatch, true);
  assert.equal(scoreText('Hello, World?', 'Hello, World?!').exactMatch, false);
  assert.equal(scoreText('Hello, World?', 'Hello, World').cer, 1 / 12);
  // Spaces next to punctuation do not count; spaces between words do.
  assert.equal(scoreText('No. 9', '"No.9').exactMatch, true);
  assert.equal(scoreText('Yes / No', 'Yes/No').exactMatch, true);
  assert.equal(scoreText('OPEN 24', 'OPEN24').exactMatch, false);
  assert.equal(scoreText('"Quoted"', '"Quoted"').exactMatch, true);

  // Words are matched whole: the target hidden inside a longer word is not a match.
  assert.equal(scoreText('OPEN', 'REOPENED').exactMatch, false);
  assert.equal(scoreText('OPEN', 'REOPENED').cer, 1);
  assert.equal(scoreText('OPEN', 'zzz qqq').cer, 1);
  assert.deepEqual([scoreText('OPEN', 'zzz qqq').start, scoreText('OPEN', 'zzz qqq').end], [0, 0]);
});

test('ranking: exact match first, then lower CER, then higher OCR confidence', () => {
  const exactLowConfidence = score({ exactMatch: true, cer: 0, ocrConfidence: 20 });
  const closeConfident = score({ cer: 0.1, ocrConfidence: 95 });
  const closeUnsure = score({ cer: 0.1, ocrConfidence: 40 });
  const far = score({ cer: 0.8, ocrConfidence: 99 });
  const ranked = [far, closeUnsure, closeConfident, exactLowConfidence].sort(compareScores);
  assert.deepEqual(ranked, [exactLowConfidence, closeConfident, closeUnsure, far]);
});

test('legibility chunk round-trips and rejects other text', () => {
  const record = {
    legibility: score({ target: 'OPEN 24/7', ocrText: 'OPEN 2477', cer: 1 / 9, ocrConfidence: 87.654, bbox: { left: 1, top: 2, width: 3, height: 4 } }),
    exactTextFallback: false,
    candidates: { count: 4, seeds: [1, 2, 3, 4], chosenSeed: 3 },
  };
  const parsed = parseLegibilityChunk(legibilityChunkText(record));
  assert.ok(parsed);
  assert.equal(parsed.legibility.cer, 0.1111);
  assert.equal(parsed.legibility.ocrConfidence, 87.7);
  assert.deepEqual(parsed.candidates, record.candidates);
  assert.deepEqual(parsed.legibility.bbox, record.legibility.bbox);
  assert.equal(parseLegibilityChunk('Steps: 20, Sampler: DDIM'), null);
  assert.equal(parseLegibilityChunk('{"legibility":{"target":3}}'), null);
});
