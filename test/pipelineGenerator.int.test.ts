// ImageGenerator's behaviour around the numerics (which pipelineReference checks): seeds, batches,
// progress, cancellation, session reuse and unloading, errors, PNG output. Real sessions on the
// tiny model, on the CPU provider.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listSupportedBackends } from 'onnxruntime-node';
import sharp from 'sharp';
import type { GenerateOptions, ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { ExecutionProviderError } from '../runtime/pipeline/executionProvider.ts';
import { GenerationError } from '../runtime/pipeline/generationError.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { wantsPreview } from '../runtime/pipeline/latentPreview.ts';
import { parseGenerationParameters } from '../runtime/png/generationParameters.ts';
import { readPngTextChunks } from '../runtime/png/pngTextChunks.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { maxAbsDiff } from './floatDifference.ts';

const base: GenerateOptions = {
  modelDir: tinyModelDir,
  modelName: 'tiny-sd2',
  prompt: 'a red sign that says OPEN',
  steps: 3,
  guidanceScale: 7.5,
  scheduler: 'ddim',
  width: 64,
  height: 64,
  seed: 11,
  device: 'cpu',
};

const generator = new ImageGenerator({ idleUnloadMs: 60_000 });
after(() => generator.dispose());


test('several images per prompt: image i uses seed+i, with progress per step and image', async () => {
  const events: ProgressEvent[] = [];
  const batch = await generator.generate({ ...base, numImages: 2 }, { onProgress: (e) => events.push(e) });
  assert.deepEqual(
    batch.images.map((i) => i.seed),
    [11, 12],
  );
  const steps = events.filter((e) => e.status === 'step');
  assert.deepEqual(
    steps.map((e) => [e.image, e.step, e.total]),
    [
      [0, 1, 3],
      [0, 2, 3],
      [0, 3, 3],
      [1, 1, 3],
      [1, 2, 3],
      [1, 3, 3],
    ],
  );
  for (let i = 1; i < steps.length; i++) assert.ok((steps[i] as { elapsedMs: number }).elapsedMs >= (steps[i - 1] as { elapsedMs: number }).elapsedMs);
  assert.deepEqual(events.filter((e) => e.status === 'decode'), [
    { status: 'decode', image: 0 },
    { status: 'decode', image: 1 },
  ]);
  assert.deepEqual(events.at(-1), { status: 'done' });
  assert.ok(maxAbsDiff(batch.images[0].pixels, batch.images[1].pixels) > 0.01, 'different seeds give different images');

  // The second image on its own, from its recorded seed, is the same image; sessions are reused.
  const again: ProgressEvent[] = [];
  const single = await generator.generate({ ...base, seed: 12 }, { onProgress: (e) => again.push(e) });
  assert.equal(maxAbsDiff(single.images[0].pixels, batch.images[1].pixels), 0);
  assert.equal(again.filter((e) => e.status === 'load').length, 0, 'no reload for the same model and device');
  assert.equal(single.provider, 'cpu');
  assert.match(single.providerNote, /CPU/);
  for (const key of ['load', 'textEncoder', 'denoise', 'decode', 'total']) assert.ok(single.timingsMs[key] >= 0, key);
});

test('step events carry a small latent preview PNG on the steps the preview cadence asks for', async () => {
  const steps: Extract<ProgressEvent, { status: 'step' }>[] = [];
  await generator.generate({ ...base, steps: 12, width: 96, height: 64 }, { onProgress: (e) => e.status === 'step' && steps.push(e) });
  assert.equal(steps.length, 12);
  for (const e of steps) assert.equal(e.preview !== undefined, wantsPreview(e.step, e.total), `step ${e.step}`);
  const meta = await sharp(Buffer.from(steps[0].preview!)).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 12, 8]);
});

test('the ancestral sampler draws its step noise from the seed: same seed, same image', async () => {
  const a = await generator.generate({ ...base, scheduler: 'euler_a', steps: 3 });
  const b = await generator.generate({ ...base, scheduler: 'euler_a', steps: 3 });
  const c = await generator.generate({ ...base, scheduler: 'euler_a', steps: 3, seed: base.seed + 1 });
  assert.equal(maxAbsDiff(a.images[0].pixels, b.images[0].pixels), 0);
  assert.ok(maxAbsDiff(a.images[0].pixels, c.images[0].pixels) > 0.01);
  assert.match(a.images[0].parameters, /Sampler: Euler a,/);
});

test('guidance of 1 or less skips the unconditional pass, so the negative prompt has no effect', async () => {
  const a = await generator.generate({ ...base, guidanceScale: 1, negativePrompt: 'blurry' });
  const b = await generator.generate({ ...base, guidanceScale: 1, negativePrompt: 'sharp, clean, vivid colours' });
  assert.equal(maxAbsDiff(a.images[0].pixels, b.images[0].pixels), 0);
  const c = await generator.generate({ ...base, guidanceScale: 3, negativePrompt: 'blurry' });
  const d = await generator.generate({ ...base, guidanceScale: 3, negativePrompt: 'sharp, clean, vivid colours' });
  assert.ok(maxAbsDiff(c.images[0].pixels, d.images[0].pixels) > 1e-4);
});

test('the PNG holds the image and its A1111 parameters', async () => {
  const { images } = await generator.generate({ ...base, width: 96, height: 64, negativePrompt: 'blurry, dark' });
  const png = await images[0].png();
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [96, 64, 3]);
  for (let i = 0; i < data.length; i += 997) assert.equal(data[i], Math.round(images[0].pixels[i] * 255));
  const text = readPngTextChunks(png).parameters;
  assert.equal(text, images[0].parameters);
  const p = parseGenerationParameters(text);
  assert.deepEqual(
    [p.prompt, p.negativePrompt, p.steps, p.sampler, p.scheduleType, p.cfgScale, p.seed, p.width, p.height, p.model],
    [base.prompt, 'blurry, dark', 3, 'DDIM', 'Automatic', 7.5, 11, 96, 64, 'tiny-sd2'],
  );
});

test('a size that is a multiple of 8 but not of 64 works', async () => {
  const { images } = await generator.generate({ ...base, width: 72, height: 136, steps: 1 });
  assert.equal(images[0].pixels.length, 72 * 136 * 3);
  assert.ok(images[0].pixels.every((v) => v >= 0 && v <= 1));
});

test('cancelling between steps rejects with an AbortError, and the generator goes on working', async () => {
  const controller = new AbortController();
  const seen: number[] = [];
  await assert.rejects(
    generator.generate(
      { ...base, steps: 6 },
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.status !== 'step') return;
          seen.push(e.step);
          if (e.step === 2) controller.abort();
        },
      },
    ),
    (error: unknown) => (error as Error).name === 'AbortError',
  );
  assert.deepEqual(seen, [1, 2]);
  const ok = await generator.generate({ ...base, steps: 1 });
  assert.equal(ok.images.length, 1);
});

test('a prompt over 77 tokens is truncated with a warning', async () => {
  const events: ProgressEvent[] = [];
  const long = Array.from({ length: 90 }, (_, i) => `word${i}`).join(' ');
  await generator.generate({ ...base, steps: 1, prompt: long }, { onProgress: (e) => events.push(e) });
  const warnings = events.filter((e) => e.status === 'message' && e.level === 'warning');
  assert.equal(warnings.length, 1);
  assert.match((warnings[0] as { text: string }).text, /prompt is \d+ tokens long; CLIP reads only the first 75/);
});

test('requests the user can fix fail with clear errors', async () => {
  const rejects = (options: Partial<GenerateOptions>, pattern: RegExp, hooks = {}) =>
    assert.rejects(generator.generate({ ...base, ...options }, hooks), (error: unknown) => {
      assert.ok(error instanceof GenerationError, String(error));
      assert.match(error.message, pattern);
      return true;
    });
  await rejects({ width: 100 }, /width must be a multiple of 8/);
  await rejects({ height: 0 }, /height must be a multiple of 8/);
  await rejects({ scheduler: 'karras' as never }, /scheduler must be one of ddim, pndm, euler, euler_a, lms, dpmpp_2m, dpmpp_2m_karras, unipc, got "karras"/);
  await rejects({ steps: 0 }, /steps must be a whole number/);
  await rejects({ seed: -1 }, /seed must be/);
  await rejects({}, /initial latents have 5 values/, { latents: new Float32Array(5) });

  const partial = await mkdtemp(join(tmpdir(), 'lp-partial-model-'));
  try {
    await cp(tinyModelDir, partial, { recursive: true });
    await rm(join(partial, 'vae', 'diffusion_pytorch_model.safetensors'));
    await rejects({ modelDir: partial }, /missing vae\/diffusion_pytorch_model\.safetensors/);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
});

test('float16 graphs are for GPU providers: on the CPU the float32 graphs run', async () => {
  const fp32 = await generator.generate({ ...base, steps: 2 });
  const fp16 = await generator.generate({ ...base, steps: 2, fp16: true });
  assert.equal(fp16.provider, 'cpu');
  assert.doesNotMatch(fp16.providerNote, /float16/);
  assert.equal(maxAbsDiff(fp16.images[0].pixels, fp32.images[0].pixels), 0);
});

test('an explicit device this machine lacks fails with an error saying what to do', async () => {
  const missing = (['dml', 'coreml'] as const).find((p) => !listSupportedBackends().some((b) => b.name === p));
  assert.ok(missing);
  await assert.rejects(generator.generate({ ...base, device: missing }), (error: unknown) => {
    assert.ok(error instanceof ExecutionProviderError);
    assert.match(error.message, /cannot be used: .*set the device to "auto"/);
    return true;
  });
});

test('one job at a time: a second generate() while one runs is refused (the runtime queues jobs), unload() waits for the running one', async () => {
  const running = generator.generate({ ...base, steps: 2 });
  await assert.rejects(generator.generate(base), /one job at a time/);
  const unloaded = generator.unload();
  assert.equal((await running).images.length, 1, 'the running job was not disturbed');
  await unloaded;
  assert.equal(generator.isLoaded, false);
  await generator.generate({ ...base, steps: 1 });
  assert.equal(generator.isLoaded, true, 'usable again');
});

test('sessions are released after idleUnloadMs without a job', async () => {
  const shortLived = new ImageGenerator({ idleUnloadMs: 100 });
  try {
    await shortLived.generate({ ...base, steps: 1 });
    assert.equal(shortLived.isLoaded, true);
    await sleep(400);
    assert.equal(shortLived.isLoaded, false);
    const events: ProgressEvent[] = [];
    await shortLived.generate({ ...base, steps: 1 }, { onProgress: (e) => events.push(e) });
    assert.deepEqual(
      events.filter((e) => e.status === 'load').map((e) => (e as { component: string }).component),
      ['text_encoder', 'unet', 'vae_decoder'],
    );
  } finally {
    await shortLived.dispose();
  }
  assert.equal(shortLived.isLoaded, false);
});
