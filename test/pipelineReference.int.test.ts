// Whole text-to-image runs against diffusers (test/fixtures/README.md): same initial noise, same
// prompts and settings, the float image compared before rounding. Exercises the tokenizer, the
// text encoder, UNet and VAE graphs, every non-ancestral scheduler and the loop around them.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { float16BitsToFloat32 } from '../runtime/safetensors/float16.ts';
import { openSafetensors, type SafetensorsFile } from '../runtime/safetensors/safetensorsFile.ts';
import { writeSafetensors } from '../runtime/safetensors/safetensorsWriter.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';
import { caseRequest, loadPipelineCases, type PipelineCase, repeatedTensor } from './pipelineCases.ts';

const cases = loadPipelineCases(referenceDir);
let reference: SafetensorsFile;
let tempDir: string;
let roundedModelDir: string;
const fixtureGenerator = new ImageGenerator({ idleUnloadMs: 60_000 });
const roundedGenerator = new ImageGenerator({ idleUnloadMs: 60_000 });

/**
 * The reference images were made with the UNet weights rounded to float16 (the fixture's .fp16
 * file; its float32 file holds the unrounded values). With those exact weights our pipeline should
 * agree to float32 rounding, far tighter than the README's tolerance for the fixture as shipped.
 */
async function modelWithRoundedUnet(dir: string): Promise<string> {
  const modelDir = join(dir, 'tiny-sd2');
  await cp(tinyModelDir, modelDir, { recursive: true, filter: (source) => !source.includes('.letterpress') });
  const source = await openSafetensors(join(tinyModelDir, 'unet', 'diffusion_pytorch_model.fp16.safetensors'));
  try {
    const entries = [...source.tensors.values()].map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape }));
    await writeSafetensors(join(modelDir, 'unet', 'diffusion_pytorch_model.safetensors'), entries, async (entry) => {
      const bytes = await source.readBytes(entry.name);
      return float16BitsToFloat32(new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
    });
  } finally {
    await source.close();
  }
  return modelDir;
}

before(async () => {
  reference = await openSafetensors(join(referenceDir, 'pipeline.safetensors'));
  tempDir = await mkdtemp(join(tmpdir(), 'lp-pipeline-reference-'));
  roundedModelDir = await modelWithRoundedUnet(tempDir);
});
after(async () => {
  await reference.close();
  await fixtureGenerator.dispose();
  await roundedGenerator.dispose();
  await rm(tempDir, { recursive: true, force: true });
});

/** Largest and mean pixel error of each image of the run; `copies` > 1 denoises the case's latents that often in one batch. */
async function errorAgainstReference(generator: ImageGenerator, modelDir: string, c: PipelineCase, copies = 1): Promise<{ max: number; mean: number }[]> {
  const expected = await reference.readFloat32(`${c.key}.image`);
  const result = await generator.generate(caseRequest(c, modelDir, 'cpu', copies), {
    latents: await repeatedTensor(reference, `${c.key}.latents`, copies),
  });
  assert.equal(result.provider, 'cpu');
  assert.equal(result.images.length, copies);
  return result.images.map((image) => {
    assert.equal(image.pixels.length, expected.length);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(image.pixels[i] - expected[i]);
      sum += d;
      if (d > max) max = d;
    }
    return { max, mean: sum / expected.length };
  });
}

for (const c of cases) {
  test(`${c.key}: ${c.steps} steps, guidance ${c.guidance_scale} matches diffusers`, async () => {
    const [shipped] = await errorAgainstReference(fixtureGenerator, tinyModelDir, c);
    assert.ok(
      shipped.max <= 2e-3 && shipped.mean <= 2e-4,
      `${c.key} (fixture model): max abs error ${shipped.max.toExponential(3)}, mean ${shipped.mean.toExponential(3)}`,
    );
    const [exact] = await errorAgainstReference(roundedGenerator, roundedModelDir, c);
    assert.ok(
      exact.max <= 5e-5 && exact.mean <= 5e-6,
      `${c.key} (reference UNet weights): max abs error ${exact.max.toExponential(3)}, mean ${exact.mean.toExponential(3)}`,
    );
  });
}

// The same initial latents twice in one UNet batch (diffusers' [uncond x 2, cond x 2] layout, with
// a multistep sampler and a negative prompt): both images must still be diffusers' image.
for (const key of ['dpmpp_2m.128x192', 'ddim.128x128']) {
  test(`${key} denoised twice in one batch: both images match diffusers`, async () => {
    const c = cases.find((x) => x.key === key);
    assert.ok(c, key);
    const errors = await errorAgainstReference(roundedGenerator, roundedModelDir, c, 2);
    for (const [i, e] of errors.entries()) {
      assert.ok(e.max <= 5e-5 && e.mean <= 5e-6, `${key} image ${i} of the batch: max abs error ${e.max.toExponential(3)}, mean ${e.mean.toExponential(3)}`);
    }
  });
}
