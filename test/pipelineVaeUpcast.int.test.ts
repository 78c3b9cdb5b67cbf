// The VAE keeps float32 when its config says force_upcast (as diffusers' pipelines upcast it): with
// float16 graphs asked for, the decoder's output is then the float32 decoder's, bit for bit, while
// the UNet runs in float16. A config with force_upcast false gets the float16 decoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGaussianNoise } from '../runtime/pipeline/gaussianNoise.ts';
import { loadModelSessions } from '../runtime/pipeline/modelSessions.ts';
import { readLatentSpace } from '../runtime/pipeline/modelFolder.ts';
import { maxAbsDiff } from './floatDifference.ts';
import { tinyModelDir } from './fixturePaths.ts';

test('force_upcast keeps the VAE in float32 under float16 graphs', async () => {
  assert.equal((await readLatentSpace(tinyModelDir)).forceUpcast, true, "the fixture's VAE config asks for it, as SD2's does");
  const shape = [1, 4, 8, 8] as const;
  const latents = createGaussianNoise(3).randn(4 * 8 * 8);
  const decode = async (fp16: boolean, vaeForceUpcast: boolean) => {
    const sessions = await loadModelSessions(tinyModelDir, 'cpu', fp16, {}, { vaeForceUpcast });
    try {
      return { vaeUpcast: sessions.vaeUpcast, image: await sessions.decodeLatents(latents, shape) };
    } finally {
      await sessions.release();
    }
  };
  const full = await decode(false, true);
  const upcast = await decode(true, true);
  const half = await decode(true, false);
  assert.equal(full.vaeUpcast, false, 'nothing to upcast in float32');
  assert.equal(upcast.vaeUpcast, true);
  assert.equal(half.vaeUpcast, false);
  assert.equal(maxAbsDiff(upcast.image, full.image), 0);
  const halfError = maxAbsDiff(half.image, full.image);
  assert.ok(halfError > 0 && halfError < 5e-2, `the float16 decoder differs a little: ${halfError}`);
});
