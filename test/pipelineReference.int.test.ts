// Whole text-to-image runs against diffusers (test/fixtures/README.md): same initial noise, same
// prompts and settings, the float image compared before rounding. Exercises the tokenizer, the
// text encoder, UNet and VAE graphs, every non-ancestral scheduler and the loop around them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SchedulerName } from '../runtime/generationTypes.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { openSafetensors, type SafetensorsFile } from '../runtime/safetensors/safetensorsFile.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';

interface PipelineCase {
  key: string;
  scheduler: SchedulerName;
  prompt: string;
  negative_prompt: string;
  height: number;
  width: number;
  steps: number;
  guidance_scale: number;
}

const { cases } = JSON.parse(readFileSync(join(referenceDir, 'pipeline-cases.json'), 'utf8')) as { cases: PipelineCase[] };
let reference: SafetensorsFile;
const generator = new ImageGenerator({ idleUnloadMs: 60_000 });

before(async () => {
  reference = await openSafetensors(join(referenceDir, 'pipeline.safetensors'));
});
after(async () => {
  await reference.close();
  await generator.dispose();
});

for (const c of cases) {
  test(`${c.key}: ${c.steps} steps, guidance ${c.guidance_scale} matches diffusers`, async () => {
    const latents = await reference.readFloat32(`${c.key}.latents`);
    const expected = await reference.readFloat32(`${c.key}.image`);
    const result = await generator.generate(
      {
        modelDir: tinyModelDir,
        prompt: c.prompt,
        negativePrompt: c.negative_prompt,
        steps: c.steps,
        guidanceScale: c.guidance_scale,
        scheduler: c.scheduler,
        width: c.width,
        height: c.height,
        seed: 0,
        device: 'cpu',
      },
      { latents },
    );
    assert.equal(result.provider, 'cpu');
    const [image] = result.images;
    assert.equal(image.pixels.length, expected.length);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(image.pixels[i] - expected[i]);
      sum += d;
      if (d > max) max = d;
    }
    const mean = sum / expected.length;
    assert.ok(max <= 2e-3 && mean <= 2e-4, `${c.key}: max abs error ${max.toExponential(3)}, mean ${mean.toExponential(3)}`);
  });
}
