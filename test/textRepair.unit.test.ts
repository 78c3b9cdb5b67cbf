// Model-native text repair's inputs: the region (OCR's box or the layout's), the mask grown and snapped
// to the latent grid, and the start image with the glyphs drawn there and nothing changed elsewhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import type { LegibilityScore } from '../runtime/png/letterpressRecord.ts';
import { repairMaskBox, repairRegion, repairStart } from '../runtime/layout/textRepair.ts';
import { rectangleMask } from '../runtime/pipeline/startImage.ts';

function score(partial: Partial<LegibilityScore>): LegibilityScore {
  return { target: 'OPEN', ocrText: '', cer: 1, exactMatch: false, wholeCer: 1, ocrConfidence: 0, bbox: null, ...partial };
}

test('the region: OCR’s box when it read something like the target, else the layout’s box, else none', () => {
  const ocrBox = { left: 10, top: 20, width: 100, height: 30 };
  const layoutBox = { left: 40, top: 50, width: 300, height: 90 };
  assert.deepEqual(repairRegion({ score: score({ bbox: ocrBox, cer: 0.25 }) }), ocrBox);
  assert.deepEqual(repairRegion({ score: score({ bbox: ocrBox, cer: 0.75 }), record: { layout: { box: layoutBox } } }), layoutBox);
  assert.equal(repairRegion({ score: score({ bbox: ocrBox, cer: 0.75 }) }), null);
  assert.equal(repairRegion({ score: score({}), record: { layout: { box: { left: 'x' } } } }), null, 'a damaged record is ignored');
});

test('the mask box: grown on every side, on whole 8-pixel cells, inside the image', () => {
  const box = repairMaskBox({ left: 101, top: 45, width: 200, height: 37 }, 512, 512);
  for (const value of Object.values(box)) assert.equal(value % 8, 0);
  assert.ok(box.left <= 101 - 16 && box.top <= 45 - 16);
  assert.ok(box.left + box.width >= 301 + 16 && box.top + box.height >= 82 + 16);
  const edge = repairMaskBox({ left: 0, top: 490, width: 512, height: 22 }, 512, 512);
  assert.deepEqual(edge, { left: 0, top: 464, width: 512, height: 48 });
});

test('the mask PNG: white exactly over the box, black elsewhere', async () => {
  const box = { left: 16, top: 24, width: 40, height: 16 };
  const { data, info } = await sharp(await rectangleMask(96, 64, box)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [96, 64]);
  let wrong = 0;
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 96; x++) {
      const inside = x >= 16 && x < 56 && y >= 24 && y < 40;
      if (data[(y * 96 + x) * info.channels] !== (inside ? 255 : 0)) wrong++;
    }
  }
  assert.equal(wrong, 0);
});

test('the start image: the glyphs drawn over the text region, the picture unchanged outside the mask', async () => {
  // A two-tone picture with a dark "sign" where OCR found text.
  const picture = await sharp({ create: { width: 384, height: 256, channels: 3, background: '#3a6ea5' } })
    .composite([{ input: await sharp({ create: { width: 200, height: 60, channels: 3, background: '#f5e9c8' } }).png().toBuffer(), left: 92, top: 40 }])
    .png()
    .toBuffer();
  const start = await repairStart(picture, 'OPEN', { left: 110, top: 50, width: 160, height: 40 });
  const before = await sharp(picture).removeAlpha().raw().toBuffer();
  const { data, info } = await sharp(start.png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [384, 256, 3]);
  const m = start.maskBox;
  assert.ok(m.left <= start.textBox.left && m.top <= start.textBox.top);
  assert.ok(m.left + m.width >= start.textBox.left + start.textBox.width && m.top + m.height >= start.textBox.top + start.textBox.height);
  let changedOutside = 0;
  let changedInside = 0;
  for (let y = 0; y < 256; y++) {
    for (let x = 0; x < 384; x++) {
      const i = (y * 384 + x) * 3;
      const changed = data[i] !== before[i] || data[i + 1] !== before[i + 1] || data[i + 2] !== before[i + 2];
      const inMask = x >= m.left && x < m.left + m.width && y >= m.top && y < m.top + m.height;
      if (changed && !inMask) changedOutside++;
      if (changed && inMask) changedInside++;
    }
  }
  assert.equal(changedOutside, 0, 'only the masked region differs');
  assert.ok(changedInside > 500, 'glyphs drawn');
  const mask = await sharp(start.mask).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([mask.info.width, mask.info.height], [384, 256]);
});
