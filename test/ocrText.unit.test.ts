import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreReading } from '../runtime/legibility/legibilityScore.ts';
import type { OcrReading, OcrWord } from '../runtime/legibility/ocrReader.ts';
import { readingText } from '../runtime/legibility/ocrText.ts';

function word(text: string, confidence: number, left: number, top = 10): OcrWord {
  return { text, confidence, box: { left, top, width: 20, height: 10 } };
}

const reading: OcrReading = {
  rawText: 'ignored',
  confidence: 40,
  lines: [
    [word('oe', 7, 0), word('ELBE', 3, 30), word('|', 85, 60)],
    [word('BEEN', 92, 100, 50), word('THARE', 90, 130, 50), word('&', 80, 160, 50)],
    [word('EXIT', 0, 5, 90), word('gol', 8, 40, 90)],
  ],
};

test('texture words (very low confidence, lone symbols) are left out; target words and target symbols stay', () => {
  assert.equal(readingText(reading), 'BEEN THARE');
  assert.equal(readingText(reading, 'R & D'), 'BEEN THARE &');
  assert.equal(readingText(reading, 'EXIT'), 'BEEN THARE\nEXIT', 'a clean read of a target word may come with confidence 0');
});

test('the score and its box come from the best-matching run of kept words', () => {
  const score = scoreReading(reading, 'Bean There');
  assert.equal(score.cer, 0.2);
  assert.equal(score.exactMatch, false);
  assert.deepEqual(score.bbox, { left: 100, top: 50, width: 50, height: 10 });
  assert.equal(score.ocrConfidence, 40);
  const none = scoreReading({ rawText: '', confidence: 0, lines: [] }, 'OPEN');
  assert.equal(none.bbox, null);
  assert.equal(none.cer, 1);
});
