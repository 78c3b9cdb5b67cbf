// The sampling loop: diffusers' StableDiffusionPipeline.__call__ between the prompt embeddings and
// the VAE, one UNet call per scheduler timestep for a batch of images of the same job.
//
// Each image keeps its own scheduler (multistep samplers remember earlier outputs) and its own noise
// stream, and its latents only ever meet the others inside the UNet call, so an image denoised in a
// batch is the image denoised alone, up to the float rounding of a differently blocked UNet run.
import type { GaussianNoise } from '../random/gaussianNoise.ts';
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
  // With guidance the UNet batch is [unconditional x count, conditional x count], as in diffusers.
  const copies = embeddingBatch === 2 ? 2 : 1;
  const modelShape = [copies * count, c, h, w];
  const embeddings = guidanceBatchEmbeddings(input.embeddings, embeddingBatch, count);
  const modelInput = new Float32Array(copies * count * size);

  for (let step = 0; step < total; step++) {
    throwIfAborted(input.signal);
    const t = schedule[step];
    for (let i = 0; i < count; i++) {
      const scaled = images[i].scheduler.scaleModelInput(latents[i], t);
      for (let copy = 0; copy < copies; copy++) modelInput.set(scaled, (copy * count + i) * size);
    }
    const output = await input.predictNoise(modelInput, modelShape, t, embeddings, input.tokens);
    const noisePrediction = copies === 2 ? applyClassifierFreeGuidance(output, input.guidanceScale) : output;
    latents = images.map((image, i) => image.scheduler.step(noisePrediction.subarray(i * size, (i + 1) * size), t, latents[i], image.stepNoise));
    input.onStep?.(step + 1, total, latents);
  }
  throwIfAborted(input.signal);
  return latents;
}
