// Image-to-image and inpainting against diffusers (test/fixtures/README.md, "img2img"): each case's
// start image and mask as PNG files, every random draw fed from the fixture (the posterior's eps and
// the latent noise), the float image compared before rounding. Covers the VAE encoder, strength →
// timesteps, add_noise of DDIM, Euler and DPM++ 2M, and the mask re-applied after each step.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SchedulerName } from '../runtime/protocol/generationTypes.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { openSafetensors, type SafetensorsFile } from '../runtime/safetensors/safetensorsFile.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';
import { pixelErrors } from './floatDifference.ts';
import { caseRequest, repeatedTensor } from './pipelineCases.ts';

interface Img2ImgCase {
  key: string;
  kind: 'img2img' | 'inpaint';
  scheduler: SchedulerName;
  strength: number;
  steps: number;
  guidance_scale: number;
  width: number;
  height: number;
  prompt: string;
  negative_prompt: string;
}

const cases = (JSON.parse(readFileSync(join(referenceDir, 'img2img-cases.json'), 'utf8')) as { cases: Img2ImgCase[] }).cases;
let reference: SafetensorsFile;
const generator = new ImageGenerator({ idleUnloadMs: 60_000 });

before(async () => {
  reference = await openSafetensors(join(referenceDir, 'img2img.safetensors'));
});
after(async () => {
  await reference.close();
  await generator.dispose();
});

// These references were made with the fixture's float32 weights as shipped, so the whole run agrees
// to float32 rounding (measured: at most 4.1e-6 largest, 2.8e-7 mean); the README's 2e-3 / 2e-4 is
// the contract, the tighter bound catches a subtly wrong step that would still pass it.
const tight = { max: 5e-5, mean: 5e-6 };

async function errorAgainstReference(c: Img2ImgCase, copies = 1): Promise<{ max: number; mean: number }[]> {
  const repeat = (name: string) => repeatedTensor(reference, `${c.key}.${name}`, copies);
  const expected = await reference.readFloat32(`${c.key}.image`);
  const result = await generator.generate(
    {
      ...caseRequest(c, tinyModelDir, 'cpu', copies),
      initImage: join(referenceDir, 'img2img', `${c.key}.init.png`),
      strength: c.strength,
      ...(c.kind === 'inpaint' ? { mask: join(referenceDir, 'img2img', `${c.key}.mask.png`) } : {}),
    },
    { latents: await repeat('noise'), encoderNoise: await repeat('encoder_noise') },
  );
  assert.equal(result.images.length, copies);
  return result.images.map((image) => pixelErrors(image.pixels, expected));
}

for (const c of cases) {
  test(`${c.key}: ${c.kind} ${c.scheduler}, strength ${c.strength}, ${c.steps} steps matches diffusers`, async () => {
    const [e] = await errorAgainstReference(c);
    const label = `${c.key}: max abs error ${e.max.toExponential(3)}, mean ${e.mean.toExponential(3)}`;
    assert.ok(e.max <= 2e-3 && e.mean <= 2e-4, label);
    assert.ok(e.max <= tight.max && e.mean <= tight.mean, `${label} (float32 rounding expected)`);
  });
}

// Several images in one UNet call (the [uncond x n, cond x n] layout, a multistep sampler, the mask
// applied per image): each image is still diffusers' image, as on its own.
for (const key of ['inpaint.dpmpp_2m.top.s075.wide', 'i2i.euler.s06']) {
  test(`${key} denoised twice in one batch: both images match diffusers`, async () => {
    const c = cases.find((x) => x.key === key);
    assert.ok(c, key);
    const errors = await errorAgainstReference(c, 2);
    for (const [i, e] of errors.entries()) {
      assert.ok(e.max <= tight.max && e.mean <= tight.mean, `${key} image ${i}: max abs error ${e.max.toExponential(3)}, mean ${e.mean.toExponential(3)}`);
    }
  });
}
