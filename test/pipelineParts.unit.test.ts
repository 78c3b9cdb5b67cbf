import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyClassifierFreeGuidance, guidanceBatchEmbeddings, usesClassifierFreeGuidance } from '../runtime/pipeline/classifierFreeGuidance.ts';
import { vaeSampleToImage } from '../runtime/pipeline/decodedImage.ts';
import { GenerationError } from '../runtime/pipeline/generationError.ts';
import { checkModelFolder, readLatentSpace } from '../runtime/pipeline/modelFolder.ts';
import { tinyModelDir } from './fixturePaths.ts';

test('guidance: uncond + g·(cond − uncond) over [uncond, cond], and only for g > 1 (diffusers)', () => {
  const out = applyClassifierFreeGuidance(new Float32Array([1, -2, 0.5, /* cond */ 3, -1, 0.5]), 7.5);
  assert.deepEqual(Array.from(out), [1 + 7.5 * 2, -2 + 7.5 * 1, 0.5]);
  assert.equal(usesClassifierFreeGuidance(7.5), true);
  assert.equal(usesClassifierFreeGuidance(1), false);
  assert.equal(usesClassifierFreeGuidance(0), false);
});

test('a batch of images: prompt rows repeated per image as [negative x k, prompt x k], which guidance splits in halves', () => {
  const negative = [0.1, 0.2];
  const prompt = [0.7, 0.8];
  const rows = guidanceBatchEmbeddings(new Float32Array([...negative, ...prompt]), 2, 3);
  assert.deepEqual(Array.from(rows), [negative, negative, negative, prompt, prompt, prompt].flat().map(Math.fround));
  assert.deepEqual(Array.from(guidanceBatchEmbeddings(new Float32Array(prompt), 1, 2)), [prompt, prompt].flat().map(Math.fround));
  // UNet output for 2 images: [uncond0, uncond1, cond0, cond1] → [guided0, guided1].
  assert.deepEqual(Array.from(applyClassifierFreeGuidance(new Float32Array([1, 2, 3, 6]), 2)), [1 + 2 * 2, 2 + 2 * 4]);
});

test('VAE output [1,3,H,W] in [-1,1] becomes [H,W,3] of (x/2+0.5) clamped to [0,1]', () => {
  const width = 3;
  const height = 2;
  const plane = width * height;
  const sample = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) sample[c * plane + i] = -1.5 + 0.25 * i + c;
  const image = vaeSampleToImage(sample, width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = sample[c * plane + y * width + x] / 2 + 0.5;
        assert.equal(image[(y * width + x) * 3 + c], Math.fround(Math.min(1, Math.max(0, v))));
      }
    }
  }
  assert.equal(image[0], 0); // -1.5 clamps to 0
  assert.throws(() => vaeSampleToImage(sample, 4, 2), RangeError);
});

test('the tiny model folder is complete and its latent space is read from the configs', async () => {
  await checkModelFolder(tinyModelDir);
  assert.deepEqual(await readLatentSpace(tinyModelDir), { scalingFactor: 0.18215, channels: 4, downscale: 8, forceUpcast: true });
});

test('force_upcast: only an explicit false lets the VAE run in float16 (diffusers defaults it to true)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lp-upcast-'));
  try {
    // The latent space comes from these two configs alone.
    for (const part of ['vae', 'unet']) await cp(join(tinyModelDir, part, 'config.json'), join(dir, part, 'config.json'));
    const configPath = join(dir, 'vae', 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(configPath, JSON.stringify({ ...config, force_upcast: false }));
    assert.equal((await readLatentSpace(dir)).forceUpcast, false);
    delete config.force_upcast;
    await writeFile(configPath, JSON.stringify(config));
    assert.equal((await readLatentSpace(dir)).forceUpcast, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a partial model folder fails with the names of the missing files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lp-partial-'));
  try {
    await cp(join(tinyModelDir, 'scheduler'), join(dir, 'scheduler'), { recursive: true });
    await cp(join(tinyModelDir, 'tokenizer'), join(dir, 'tokenizer'), { recursive: true });
    await cp(join(tinyModelDir, 'vae'), join(dir, 'vae'), { recursive: true });
    await cp(join(tinyModelDir, 'text_encoder', 'config.json'), join(dir, 'text_encoder', 'config.json'));
    await assert.rejects(checkModelFolder(dir), (error: unknown) => {
      assert.ok(error instanceof GenerationError);
      assert.match(error.message, /missing text_encoder\/model\.safetensors, unet\/config\.json, unet\/diffusion_pytorch_model\.safetensors\./);
      assert.doesNotMatch(error.message, /vae\//);
      return true;
    });
    await assert.rejects(checkModelFolder(join(dir, 'nope')), /model folder not found/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
