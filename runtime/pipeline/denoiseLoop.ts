// The sampling loop of one image: diffusers' StableDiffusionPipeline.__call__ between the prompt
// embeddings and the VAE, one UNet call per scheduler timestep.
import type { GaussianNoise } from '../random/gaussianNoise.ts';
import type { Scheduler } from '../schedulers/scheduler.ts';
import { applyClassifierFreeGuidance } from './classifierFreeGuidance.ts';
import { throwIfAborted } from './generationError.ts';

export interface DenoiseInput {
  scheduler: Scheduler;
  /** Unscaled initial noise [1, c, h, w]; multiplied by the scheduler's initNoiseSigma here. */
  noise: Float32Array;
  latentShape: readonly [number, number, number, number];
  /** From encodePrompts: batch 2 ([negative, prompt]) with guidance, 1 without. */
  embeddings: Float32Array;
  embeddingBatch: number;
  tokens: number;
  guidanceScale: number;
  /** Ancestral samplers draw their per-step noise from it. */
  stepNoise: GaussianNoise;
  predictNoise(sample: Float32Array, shape: readonly number[], timestep: number, embeddings: Float32Array, tokens: number): Promise<Float32Array>;
  signal?: AbortSignal;
  /** After each step, with the latents it produced (the UNet's space, [1, c, h, w]). */
  onStep?: (step: number, total: number, latents: Float32Array) => void;
}

export async function denoiseLatents(input: DenoiseInput): Promise<Float32Array> {
  const { scheduler, embeddingBatch } = input;
  const sigma = scheduler.initNoiseSigma;
  let latents: Float32Array = Float32Array.from(input.noise, (v) => v * sigma);
  const total = scheduler.timesteps.length;
  const [, c, h, w] = input.latentShape;
  const modelShape = [embeddingBatch, c, h, w];

  for (let step = 0; step < total; step++) {
    throwIfAborted(input.signal);
    const t = scheduler.timesteps[step];
    // The scaling is the same for every batch entry, so scale once and repeat the result.
    const scaled = scheduler.scaleModelInput(latents, t);
    let modelInput = scaled;
    if (embeddingBatch === 2) {
      modelInput = new Float32Array(scaled.length * 2);
      modelInput.set(scaled, 0);
      modelInput.set(scaled, scaled.length);
    }
    const output = await input.predictNoise(modelInput, modelShape, t, input.embeddings, input.tokens);
    const noisePrediction = embeddingBatch === 2 ? applyClassifierFreeGuidance(output, input.guidanceScale) : output;
    latents = scheduler.step(noisePrediction, t, latents, input.stepNoise);
    input.onStep?.(step + 1, total, latents);
  }
  throwIfAborted(input.signal);
  return latents;
}
