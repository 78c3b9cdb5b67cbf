// Real tesseract.js worker on images drawn with the bundled font: what OCR reads and how it is scored.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { paintMask, renderTextMask } from '../runtime/legibility/textMask.ts';

const reader = new OcrReader();
after(() => reader.close());

/** Black text in a 400×100 box at (56, 78) on a white 512×256 card; returns the card and where the ink is. */
async function textCard(text: string) {
  const mask = await renderTextMask(text, 400, 100);
  const left = 56 + Math.round((400 - mask.width) / 2);
  const top = 78 + Math.round((100 - mask.height) / 2);
  const png = await sharp({ create: { width: 512, height: 256, channels: 3, background: '#ffffff' } })
    .composite([{ input: paintMask(mask, [0, 0, 0]), raw: { width: mask.width, height: mask.height, channels: 4 }, left, top }])
    .png()
    .toBuffer();
  return { png, ink: { left, top, width: mask.width, height: mask.height } };
}

test('reads rendered text exactly, with its box and a high confidence; scores a near miss by CER', async () => {
  const { png, ink } = await textCard('OPEN 24/7');
  const exact = await scoreImage(reader, png, 'OPEN 24/7');
  assert.equal(exact.ocrText, 'OPEN 24/7');
  assert.equal(exact.exactMatch, true);
  assert.equal(exact.cer, 0);
  assert.ok(exact.ocrConfidence > 80, `confidence ${exact.ocrConfidence}`);
  assert.ok(exact.bbox);
  // The word boxes hug the glyphs; the mask also holds the font's line spacing, so allow a margin.
  assert.ok(exact.bbox.left >= ink.left - 3 && exact.bbox.left <= ink.left + 12, `left ${exact.bbox.left} vs ${ink.left}`);
  assert.ok(exact.bbox.top >= ink.top - 3 && exact.bbox.top + exact.bbox.height <= ink.top + ink.height + 3);
  assert.ok(exact.bbox.width >= ink.width * 0.85 && exact.bbox.width <= ink.width + 6, `width ${exact.bbox.width} vs ${ink.width}`);

  const nearMiss = await scoreImage(reader, png, 'OPEN 24/8');
  assert.equal(nearMiss.exactMatch, false);
  assert.equal(nearMiss.cer, 1 / 9);
});

test('two lines read in order; a blank image reads nothing', async () => {
  const { png } = await textCard('SALE\n50% OFF');
  const score = await scoreImage(reader, png, 'SALE\n50% OFF');
  assert.equal(score.exactMatch, true, `read ${JSON.stringify(score.ocrText)}`);
  assert.equal(score.ocrText.split('\n').length, 2);

  const blank = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#3060a0' } }).png().toBuffer();
  const none = await scoreImage(reader, blank, 'OPEN');
  assert.equal(none.ocrText, '');
  assert.equal(none.bbox, null);
  assert.equal(none.cer, 1);
});
