// The sampling loop: diffusers' StableDiffusionPipeline.__call__ between the prompt embeddings and
// the VAE, one UNet call per scheduler timestep for a batch of images of the same job.
//
// Each image keeps its own scheduler (multistep samplers remember earlier outputs) and its own noise
// stream, and its latents only ever meet the others inside the UNet call, so an image denoised in a
// batch is the image denoised alone, up to the float rounding of a differently blocked UNet run.
// That independence also lets a step whose UNet call failed (a GPU out of memory) be done again in
// smaller calls: no sampler has moved yet when the call fails.
//
// Image-to-image and inpainting (diffusers' StableDiffusionImg2ImgPipeline and, with a 4-channel
// UNet, StableDiffusionInpaintPipeline) run the same loop from a later step: the start image's
// latents noised to that step replace pure noise, and with a mask the kept region is put back after
// every step, noised to the next step's level (unnoised after the last).
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
  /**
   * Image-to-image / inpainting: the start image's latents [1, c, h, w], already multiplied by the
   * VAE's scaling factor. `noise` is then what add_noise mixes into them.
   */
  imageLatents?: Float32Array;
}

export interface StartImageDenoising {
  /** Entry of the schedule the run starts at (diffusers' get_timesteps: steps - min(int(steps·strength), steps)). */
  firstStep: number;
  /**
   * Whether the run starts from the start image's latents noised to the first step (image-to-image,
   * inpainting below strength 1) rather than from pure noise times initNoiseSigma (inpainting at 1).
   */
  noisedStartImage: boolean;
  /** Inpainting: [h·w] over the latent grid, 1 = repaint, 0 = keep the start image's latents. */
  mask?: Uint8Array;
}

export interface DenoiseInput {
  images: readonly DenoisedImage[];
  /** Shape of one image's latents. */
  latentShape: readonly [number, number, number, number];
  /** Image-to-image / inpainting; every image then carries `imageLatents`. */
  startImage?: StartImageDenoising;
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
  const fullSchedule = images[0].scheduler.timesteps;
  for (const image of images) {
    if (image.scheduler.timesteps.length !== fullSchedule.length || image.scheduler.timesteps.some((t, i) => t !== fullSchedule[i])) {
      throw new Error('the images of a batch must share one schedule');
    }
  }
  const start = input.startImage;
  const firstStep = start?.firstStep ?? 0;
  if (!Number.isInteger(firstStep) || firstStep < 0 || firstStep >= fullSchedule.length) {
    throw new RangeError(`the first step ${firstStep} is outside the schedule of ${fullSchedule.length} steps`);
  }
  const [, c, h, w] = input.latentShape;
  const size = c * h * w;
  const imageLatentsOf = (image: DenoisedImage): Float32Array => {
    if (!image.imageLatents || image.imageLatents.length !== size) throw new Error('image-to-image needs the start image latents of each image');
    return image.imageLatents;
  };
  if (start?.mask && start.mask.length !== h * w) throw new Error(`the inpainting mask has ${start.mask.length} values; the latent grid ${h * w}`);
  const schedule = fullSchedule.slice(firstStep);
  let latents: Float32Array[] = images.map((image) => {
    if (start) image.scheduler.setBeginIndex(firstStep);
    return start?.noisedStartImage
      ? image.scheduler.addNoise(imageLatentsOf(image), image.noise, firstStep)
      : Float32Array.from(image.noise, (v) => v * image.scheduler.initNoiseSigma);
  });
  /** Inpainting: the kept region back from the start image, at the noise level of step `next` (unnoised past the last). */
  const keepUnmasked = (image: DenoisedImage, current: Float32Array, next: number): Float32Array => {
    const mask = start!.mask!;
    const original = imageLatentsOf(image);
    const proper = next < fullSchedule.length ? image.scheduler.addNoise(original, image.noise, next) : original;
    const out = new Float32Array(size);
    const plane = h * w;
    for (let channel = 0; channel < c; channel++) {
      for (let p = 0; p < plane; p++) {
        const i = channel * plane + p;
        out[i] = mask[p] ? current[i] : proper[i];
      }
    }
    return out;
  };
  const total = schedule.length;
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
    if (start?.mask) latents = images.map((image, i) => keepUnmasked(image, latents[i], firstStep + step + 1));
    input.onStep?.(step + 1, total, latents);
  }
  throwIfAborted(input.signal);
  return latents;
}
