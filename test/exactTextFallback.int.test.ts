// The exact-text fallback, read back by a real tesseract.js worker, on random and on lettered backgrounds.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { applyExactTextFallback } from '../runtime/legibility/exactTextFallback.ts';
import { scoreImage } from '../runtime/legibility/legibilityScore.ts';
import { OcrReader } from '../runtime/legibility/ocrReader.ts';
import { paintMask, renderTextMask } from '../runtime/legibility/textMask.ts';

const reader = new OcrReader();
after(() => reader.close());

/** Seeded colour noise, lightly blurred: busy like a generated texture, nothing OCR can read. */
async function noisyImage(width: number, height: number, seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed >>> 0;
  for (let i = 0; i < pixels.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    pixels[i] = state >>> 24;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).blur(1.5).png().toBuffer();
}

/** The same noise drawn at 32×32 and enlarged: the soft colour blobs of a generated picture. */
async function blobImage(width: number, height: number, seed: number): Promise<Buffer> {
  const small = await sharp(await noisyImage(32, 32, seed)).raw().toBuffer();
  return sharp(small, { raw: { width: 32, height: 32, channels: 3 } }).resize(width, height, { kernel: 'cubic' }).png().toBuffer();
}

async function rawRgb(png: Buffer) {
  return sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

test('on random noise the fallback reads back exactly and leaves the rest of the image alone', async () => {
  const image = await noisyImage(512, 512, 7);
  for (const target of ['OPEN 24/7', 'SALE\n50% OFF']) {
    const result = await applyExactTextFallback(reader, image, target, { position: 'centre' });
    assert.equal(result.score.exactMatch, true, `${JSON.stringify(target)} read as ${JSON.stringify(result.score.ocrText)}`);
    const before = await rawRgb(image);
    const afterImage = await rawRgb(result.png);
    assert.equal(afterImage.info.width, 512);
    assert.equal(afterImage.info.height, 512);
    // Outside the text box (plus the shadow's reach) every pixel is as it was.
    const margin = 12;
    let changedOutside = 0;
    let changedInside = 0;
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const i = (y * 512 + x) * 3;
        const changed = before.data[i] !== afterImage.data[i] || before.data[i + 1] !== afterImage.data[i + 1] || before.data[i + 2] !== afterImage.data[i + 2];
        const inside = x >= result.box.left - margin && x < result.box.left + result.box.width + margin && y >= result.box.top - margin && y < result.box.top + result.box.height + margin;
        if (changed && inside) changedInside++;
        if (changed && !inside) changedOutside++;
      }
    }
    assert.equal(changedOutside, 0);
    assert.ok(changedInside > result.box.width * result.box.height * 0.5);
  }
});

test('goes where the model wrote, over its misspelling, in the colour it used', async () => {
  // A cream sign with red lettering that misspells the target, in the top part of a busy image.
  const image = await blobImage(512, 512, 11);
  const misspelt = await renderTextMask('BEEN THARE', 360, 70);
  const sign = { left: 56, top: 40, width: 400, height: 110 };
  const lettered = await sharp(image)
    .composite([
      { input: { create: { width: sign.width, height: sign.height, channels: 4, background: { r: 245, g: 235, b: 210, alpha: 1 } } }, left: sign.left, top: sign.top },
      {
        input: paintMask(misspelt, [200, 20, 30]),
        raw: { width: misspelt.width, height: misspelt.height, channels: 4 },
        left: sign.left + Math.round((sign.width - misspelt.width) / 2),
        top: sign.top + Math.round((sign.height - misspelt.height) / 2),
      },
    ])
    .png()
    .toBuffer();
  const score = await scoreImage(reader, lettered, 'Bean There');
  assert.equal(score.exactMatch, false);
  assert.ok(score.bbox, `OCR should find the misspelt lettering: ${JSON.stringify(score)}`);

  const result = await applyExactTextFallback(reader, lettered, 'Bean There', { score });
  assert.equal(result.score.exactMatch, true, `read as ${JSON.stringify(result.score.ocrText)}`);
  const centreY = result.box.top + result.box.height / 2;
  assert.ok(centreY > sign.top && centreY < sign.top + sign.height, `box ${JSON.stringify(result.box)}`);
  assert.equal(result.styleIndex, 0);

  // The text is drawn in the sign's red: the darkest pixels of the box are red, not black.
  const { data, info } = await sharp(result.png).extract(result.box).raw().toBuffer({ resolveWithObject: true });
  let reddish = 0;
  for (let i = 0; i < info.width * info.height; i++) {
    const [r, g, b] = [data[i * info.channels]!, data[i * info.channels + 1]!, data[i * info.channels + 2]!];
    if (r > 150 && g < 80 && b < 80) reddish++;
  }
  assert.ok(reddish > info.width * info.height * 0.05, `reddish pixels ${reddish}`);
});
