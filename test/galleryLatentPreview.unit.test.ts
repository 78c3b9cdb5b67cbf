import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodeSmallRgbPng, latentPreviewPng, latentToRgb, wantsPreview } from '../runtime/pipeline/latentPreview.ts';
import { createGaussianNoise } from '../runtime/pipeline/gaussianNoise.ts';

function constantLatents(values: [number, number, number, number], h: number, w: number, batch = 1): Float32Array {
  const plane = h * w;
  const out = new Float32Array(batch * 4 * plane);
  for (let b = 0; b < batch; b++) for (let c = 0; c < 4; c++) out.fill(values[c], (b * 4 + c) * plane, (b * 4 + c + 1) * plane);
  return out;
}

test('the preview PNG decodes (valid chunks and CRCs) at latent resolution', async () => {
  const latents = createGaussianNoise(1).randn(4 * 8 * 12);
  const png = latentPreviewPng(latents, { channels: 4, height: 8, width: 12 });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [12, 8, 3]);
  // What sharp decodes is exactly what we mapped.
  assert.deepEqual(new Uint8Array(data), latentToRgb(latents, { channels: 4, height: 8, width: 12 }));
  // 64x64 latents (a 512x512 image) stay small enough to send every few steps.
  const big = latentPreviewPng(createGaussianNoise(2).randn(4 * 64 * 64), { channels: 4, height: 64, width: 64 });
  assert.ok(big.length < 16_000, `${big.length} bytes`);
});

test('any RGB buffer round-trips through the small PNG encoder', async () => {
  const rgb = new Uint8Array(5 * 3 * 3).map((_, i) => (i * 37) % 256);
  const { data } = await sharp(encodeSmallRgbPng(rgb, 5, 3)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(new Uint8Array(data), rgb);
  assert.throws(() => encodeSmallRgbPng(rgb, 4, 3), RangeError);
});

test('colours follow the latent channels: zero is grey, the fourth channel negative is bright blue', () => {
  const shape = { channels: 4, height: 2, width: 2 };
  const grey = latentToRgb(constantLatents([0, 0, 0, 0], 2, 2), shape);
  assert.deepEqual([...grey.subarray(0, 3)], [128, 128, 128]);
  const [r, g, b] = latentToRgb(constantLatents([0, 0, 0, -1], 2, 2), shape);
  assert.ok(b > g && g > r && r > 128, `${r},${g},${b}`);
  // The first two channels carry brightness.
  const [r2, g2, b2] = latentToRgb(constantLatents([1, 1, 0, 0], 2, 2), shape);
  assert.ok(r2 > 200 && g2 > 200 && b2 > 180, `${r2},${g2},${b2}`);
});

test('noisy latents at sigma scale are brought to unit scale; batch entries are picked by index', () => {
  const shape = { channels: 4, height: 4, width: 4 };
  const noise = createGaussianNoise(3).randn(64);
  const unit = noise.map((v) => v / Math.sqrt(noise.reduce((s, x) => s + x * x, 0) / 64));
  const loud = unit.map((v) => v * 14.6);
  assert.deepEqual(latentToRgb(loud, shape), latentToRgb(unit, shape));
  const batch = new Float32Array(128);
  batch.set(constantLatents([0, 0, 0, 0], 4, 4), 0);
  batch.set(constantLatents([0, 0, 0, -1], 4, 4), 64);
  assert.deepEqual([...latentToRgb(batch, shape, 1)], [...latentToRgb(constantLatents([0, 0, 0, -1], 4, 4), shape)]);
  assert.throws(() => latentToRgb(batch, shape, 2), RangeError);
  assert.throws(() => latentToRgb(batch, { channels: 16, height: 2, width: 2 }), RangeError);
});

test('about ten previews per image, none on the last step', () => {
  const at = (total: number) => Array.from({ length: total }, (_, i) => i + 1).filter((s) => wantsPreview(s, total));
  assert.deepEqual(at(4), [1, 2, 3]);
  assert.deepEqual(at(25), [3, 6, 9, 12, 15, 18, 21, 24]);
  assert.equal(at(50).length, 9);
  assert.ok(!at(50).includes(50));
});
