// The sampling loop: diffusers' StableDiffusionPipeline.__call__ between the prompt embeddings and
// the VAE, one UNet call per scheduler timestep for a batch of images of the same job.
//
// Each image keeps its own scheduler (multistep samplers remember earlier outputs) and its own noise
// stream, and its latents only ever meet the others inside the UNet call, so an image denoised in a
// batch is the image denoised alone, up to the float rounding of a differently blocked UNet run.
// That independence also lets a step whose UNet call failed (a GPU out of memory) be done again in
// smaller calls: no sampler has moved yet when the call fails.
import type { GaussianNoise } from './gaussianNoise.ts';
import type { Scheduler } from '../schedulers/scheduler.ts';
import { applyClassifierFreeGuidance, guidanceBatchEmbeddings } from './classifierFreeGuidance.ts';
import { throwIfAborted } from './generationError.ts';

export interface DenoisedImage {
  /** Its own scheduler, after setTimesteps; every image of a batch has the same schedule. */
  scheduler: Scheduler;
  /** Unscaled initial noise [1, c, h, w]; multiplied by the scheduler's initNoiseSigma here. */
  noise: Float32Array;
  /** Ancestral samplers draw this image's per-step noise from it. */
  stepNoise: GaussianNoise;
}

export interface DenoiseInput {
  images: readonly DenoisedImage[];
  /** Shape of one image's latents. */
  latentShape: readonly [number, number, number, number];
  /** From encodePrompts: batch 2 ([negative, prompt]) with guidance, 1 without. */
  embeddings: Float32Array;
  embeddingBatch: number;
  tokens: number;
  guidanceScale: number;
  predictNoise(sample: Float32Array, shape: readonly number[], timestep: number, embeddings: Float32Array, tokens: number): Promise<Float32Array>;
  signal?: AbortSignal;
  /**
   * A UNet call over several images failed; the loop goes on with at most `imagesPerCall` images
   * per call (half as many) and only gives up when a call of one image fails.
   */
  onBatchSplit?: (imagesPerCall: number, failedImages: number, error: unknown) => void;
  /** After each step, with the latents it produced for each image (the UNet's space, [1, c, h, w] each). */
  onStep?: (step: number, total: number, latents: readonly Float32Array[]) => void;
}

/** Denoises the images together; returns each image's final latents, in order. */
export async function denoiseLatents(input: DenoiseInput): Promise<Float32Array[]> {
  const { images, embeddingBatch } = input;
  const count = images.length;
  if (count === 0) return [];
  const schedule = images[0].scheduler.timesteps;
  for (const image of images) {
    if (image.scheduler.timesteps.length !== schedule.length || image.scheduler.timesteps.some((t, i) => t !== schedule[i])) {
      throw new Error('the images of a batch must share one schedule');
    }
  }
  let latents: Float32Array[] = images.map((image) => Float32Array.from(image.noise, (v) => v * image.scheduler.initNoiseSigma));
  const total = schedule.length;
  const [, c, h, w] = input.latentShape;
  const size = c * h * w;
  // With guidance the UNet batch is [unconditional x n, conditional x n], as in diffusers.
  const copies = embeddingBatch === 2 ? 2 : 1;
  const embeddingsFor = new Map<number, Float32Array>();
  let imagesPerCall = count;

  /** Guided noise predictions of images [first, first + n). */
  const predict = async (scaled: readonly Float32Array[], first: number, n: number, t: number): Promise<Float32Array> => {
    const modelInput = new Float32Array(copies * n * size);
    for (let i = 0; i < n; i++) {
      for (let copy = 0; copy < copies; copy++) modelInput.set(scaled[first + i], (copy * n + i) * size);
    }
    let embeddings = embeddingsFor.get(n);
    if (!embeddings) embeddingsFor.set(n, (embeddings = guidanceBatchEmbeddings(input.embeddings, embeddingBatch, n)));
    const output = await input.predictNoise(modelInput, [copies * n, c, h, w], t, embeddings, input.tokens);
    return copies === 2 ? applyClassifierFreeGuidance(output, input.guidanceScale) : output;
  };

  for (let step = 0; step < total; step++) {
    throwIfAborted(input.signal);
    const t = schedule[step];
    const scaled = images.map((image, i) => image.scheduler.scaleModelInput(latents[i], t));
    const predictions: Float32Array[] = [];
    while (predictions.length < count) {
      const first = predictions.length;
      const n = Math.min(imagesPerCall, count - first);
      let guided: Float32Array;
      try {
        guided = await predict(scaled, first, n, t);
      } catch (error) {
        if (n === 1 || (error as Error)?.name === 'AbortError') throw error;
        imagesPerCall = Math.ceil(n / 2);
        input.onBatchSplit?.(imagesPerCall, n, error);
        throwIfAborted(input.signal);
        continue;
      }
      for (let i = 0; i < n; i++) predictions.push(guided.subarray(i * size, (i + 1) * size));
    }
    latents = images.map((image, i) => image.scheduler.step(predictions[i], t, latents[i], image.stepNoise));
    input.onStep?.(step + 1, total, latents);
  }
  throwIfAborted(input.signal);
  return latents;
}
