// Several images of one job denoised together (one UNet call per step): each image keeps its own
// sampler state and noise stream, so a batched image is the image made alone. Real sessions on the
// tiny model, on the CPU provider.
import { limits } from '../runtime/protocol/limits.ts';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { GenerateOptions, ProgressEvent, SchedulerName } from '../runtime/protocol/generationTypes.ts';
import { createGaussianNoise } from '../runtime/pipeline/gaussianNoise.ts';
import { createScheduler } from '../runtime/schedulers/createScheduler.ts';
import { loadClipTokenizer } from '../runtime/tokenizer/clipTokenizer.ts';
import { denoiseLatents, type DenoiseInput } from '../runtime/pipeline/denoiseLoop.ts';
import { GenerationError } from '../runtime/pipeline/generationError.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { readSchedulerConfig } from '../runtime/pipeline/modelFolder.ts';
import { loadModelSessions } from '../runtime/pipeline/modelSessions.ts';
import { encodePrompts } from '../runtime/pipeline/promptEncoding.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { maxAbsDiff } from './floatDifference.ts';

const base: GenerateOptions = {
  modelDir: tinyModelDir,
  prompt: 'a red sign that says OPEN',
  negativePrompt: 'blurry',
  steps: 5,
  guidanceScale: 7.5,
  width: 64,
  height: 64,
  seed: 21,
  numImages: 3,
  device: 'cpu',
};

const generator = new ImageGenerator({ idleUnloadMs: 60_000 });
after(() => generator.dispose());


type StepEvent = Extract<ProgressEvent, { status: 'step' }>;

// Float reordering in a differently blocked UNet run is the only allowed difference. ONNX Runtime's
// CPU kernels measured 0 here (bit-identical images) for all of these samplers.
const batchTolerance = 1e-5;

test('a job from the largest seed wraps to 0: the second image is the image made alone from seed 0, and records seed 0', async () => {
  const top = limits.seed.max;
  const job = await generator.generate({ ...base, steps: 2, seed: top, numImages: 2, batchSize: 2 });
  assert.deepEqual(job.images.map((i) => i.seed), [top, 0]);
  const alone = await generator.generate({ ...base, steps: 2, seed: 0, numImages: 1 });
  assert.ok(maxAbsDiff(job.images[1].pixels, alone.images[0].pixels) <= batchTolerance);
  assert.equal(job.images[1].parameters, alone.images[0].parameters);
  assert.match(job.images[0].parameters, new RegExp(`Seed: ${top},`));
  assert.match(job.images[1].parameters, /Seed: 0,/);
});

// DDIM (one step, no state), Euler a (ancestral: draws step noise), DPM++ 2M (multistep history).
for (const scheduler of ['ddim', 'euler_a', 'dpmpp_2m'] satisfies SchedulerName[]) {
  test(`${scheduler}: 3 images in one batch are the images made one at a time`, async () => {
    const oneAtATime: StepEvent[] = [];
    const batched: StepEvent[] = [];
    const single = await generator.generate({ ...base, scheduler, batchSize: 1 }, { onProgress: (e) => e.status === 'step' && oneAtATime.push(e) });
    const batch = await generator.generate({ ...base, scheduler, batchSize: 3 }, { onProgress: (e) => e.status === 'step' && batched.push(e) });
    assert.equal(single.batchSize, 1);
    assert.equal(batch.batchSize, 3);
    assert.deepEqual(
      batch.images.map((i) => i.seed),
      [21, 22, 23],
    );
    for (let i = 0; i < 3; i++) {
      const diff = maxAbsDiff(batch.images[i].pixels, single.images[i].pixels);
      assert.ok(diff <= batchTolerance, `image ${i}: max abs difference ${diff.toExponential(3)}`);
      assert.equal(batch.images[i].parameters, single.images[i].parameters);
    }
    // Different seeds still give different images: the batch did not mix or repeat them.
    assert.ok(maxAbsDiff(batch.images[0].pixels, batch.images[1].pixels) > 0.01);
    assert.ok(maxAbsDiff(batch.images[1].pixels, batch.images[2].pixels) > 0.01);

    // One step event per UNet call: 3 x 5 one at a time, 5 for the batch.
    assert.deepEqual(
      oneAtATime.map((e) => [e.image, e.images, e.step]),
      [0, 1, 2].flatMap((image) => [1, 2, 3, 4, 5].map((step) => [image, undefined, step])),
    );
    assert.deepEqual(
      batched.map((e) => [e.image, e.images, e.step, e.total]),
      [1, 2, 3, 4, 5].map((step) => [0, 3, step, 5]),
    );
  });
}

test('a job larger than the batch runs in batches (3 + 2), each image still its own seed', async () => {
  const events: ProgressEvent[] = [];
  const options = { ...base, scheduler: 'euler_a' as const, numImages: 5, steps: 2 };
  const batched = await generator.generate({ ...options, batchSize: 3 }, { onProgress: (e) => events.push(e) });
  const alone = await generator.generate({ ...options, seed: 25, numImages: 1, batchSize: 1 });
  assert.deepEqual(
    batched.images.map((i) => i.seed),
    [21, 22, 23, 24, 25],
  );
  assert.ok(maxAbsDiff(batched.images[4].pixels, alone.images[0].pixels) <= batchTolerance);
  assert.deepEqual(
    events.filter((e) => e.status === 'step' || e.status === 'decode').map((e) => (e.status === 'step' ? `step ${e.image}+${e.images ?? 1} ${e.step}` : `decode ${e.image}`)),
    ['step 0+3 1', 'step 0+3 2', 'decode 0', 'decode 1', 'decode 2', 'step 3+2 1', 'step 3+2 2', 'decode 3', 'decode 4'],
  );
  const previews = events.filter((e): e is StepEvent => e.status === 'step' && e.preview !== undefined);
  assert.ok(previews.length > 0, 'the batch reports a preview of its first image');
});

test('without guidance the batch is one prompt row per image and still equals the images made alone', async () => {
  const options = { ...base, scheduler: 'dpmpp_2m' as const, guidanceScale: 1, numImages: 2, steps: 3 };
  const batched = await generator.generate({ ...options, batchSize: 2 });
  const single = await generator.generate({ ...options, batchSize: 1 });
  for (let i = 0; i < 2; i++) assert.ok(maxAbsDiff(batched.images[i].pixels, single.images[i].pixels) <= batchTolerance);
});

test('on the CPU provider the default batch is one image per UNet call', async () => {
  const events: StepEvent[] = [];
  const result = await generator.generate({ ...base, numImages: 2, steps: 1 }, { onProgress: (e) => e.status === 'step' && events.push(e) });
  assert.equal(result.provider, 'cpu');
  assert.equal(result.batchSize, 1);
  assert.deepEqual(
    events.map((e) => [e.image, e.images]),
    [
      [0, undefined],
      [1, undefined],
    ],
  );
});

test('cancelling in the middle of a batch rejects with an AbortError, and the generator goes on working', async () => {
  const controller = new AbortController();
  const seen: string[] = [];
  await assert.rejects(
    generator.generate(
      { ...base, steps: 6, batchSize: 3 },
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.status === 'decode') seen.push(`decode ${e.image}`);
          if (e.status !== 'step') return;
          seen.push(`step ${e.step} x${e.images}`);
          if (e.step === 2) controller.abort();
        },
      },
    ),
    (error: unknown) => (error as Error).name === 'AbortError',
  );
  assert.deepEqual(seen, ['step 1 x3', 'step 2 x3']);
  const ok = await generator.generate({ ...base, steps: 1, batchSize: 3 });
  assert.equal(ok.images.length, 3);
});

test("a batch size that is not a whole number within the table's limit fails with a clear error", async () => {
  const { min, max } = limits.batchSize;
  for (const batchSize of [min - 1, 1.5, max + 1]) {
    await assert.rejects(generator.generate({ ...base, batchSize }), (error: unknown) => {
      assert.ok(error instanceof GenerationError, String(error));
      assert.match(error.message, new RegExp(`batch size must be a whole number from ${min} to ${max}, got ${batchSize}`));
      return true;
    });
  }
});

test('a UNet call over several images that fails (a GPU out of memory) is done again in halves, with the same result', async () => {
  const sessions = await loadModelSessions(tinyModelDir, 'cpu', false, {});
  try {
    const tokenizer = await loadClipTokenizer(tinyModelDir);
    const config = await readSchedulerConfig(tinyModelDir);
    const prompts = await encodePrompts(tokenizer, sessions.encodeText, 'a red sign that says OPEN', '', true);
    const latentShape = [1, 4, 8, 8] as const;
    const input = (predictNoise: DenoiseInput['predictNoise'], onBatchSplit?: DenoiseInput['onBatchSplit']): DenoiseInput => ({
      images: [0, 1, 2].map((i) => {
        const scheduler = createScheduler('dpmpp_2m', config);
        scheduler.setTimesteps(4);
        const stepNoise = createGaussianNoise(40 + i);
        return { scheduler, noise: stepNoise.randn(4 * 8 * 8), stepNoise };
      }),
      latentShape,
      embeddings: prompts.embeddings,
      embeddingBatch: prompts.batch,
      tokens: prompts.tokens,
      guidanceScale: 7.5,
      predictNoise,
      onBatchSplit,
    });
    const whole = await denoiseLatents(input(sessions.predictNoise));

    // The real session, refusing more than one image (UNet batch 2) per call as a small GPU would.
    const batches: number[] = [];
    const splits: [number, number, string][] = [];
    const split = await denoiseLatents(
      input(
        (sample, shape, ...rest) => {
          batches.push(shape[0]);
          if (shape[0] > 2) throw new Error(`Failed to allocate memory for requested buffer of size ${sample.length * 4 * 200}`);
          return sessions.predictNoise(sample, shape, ...rest);
        },
        (imagesPerCall, failed, error) => splits.push([imagesPerCall, failed, (error as Error).message.slice(0, 18)]),
      ),
    );
    assert.deepEqual(splits, [
      [2, 3, 'Failed to allocate'],
      [1, 2, 'Failed to allocate'],
    ]);
    // Step 1: 3 images fail, 2 fail, then one by one; later steps go straight to one by one.
    assert.deepEqual(batches, [6, 4, 2, 2, 2, ...Array(9).fill(2)]);
    for (let i = 0; i < 3; i++) assert.ok(maxAbsDiff(split[i], whole[i]) <= batchTolerance, `image ${i}`);

    // One image that fails is the job's failure.
    await assert.rejects(
      denoiseLatents({ ...input(async () => Promise.reject(new Error('device lost'))), images: input(sessions.predictNoise).images.slice(0, 1) }),
      /device lost/,
    );
  } finally {
    await sessions.release();
  }
});
