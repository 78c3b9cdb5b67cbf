// Shared by the exponential-integrator multistep solvers (DPM-Solver++ and UniPC): the noise schedule
// in (alpha_t, sigma_t, lambda_t) form, the timestep lookup, and the model output → x0 conversion.
import type { PredictionType } from './predictionType.ts';
import { exponentialSigmas, interpOnIntegerGrid, karrasSigmas, roundHalfEven, sigmaToTimestep } from './referenceNumerics.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

/** VP coefficients for a k-diffusion sigma: alpha = 1/sqrt(sigma² + 1), sigma_t = sigma · alpha (float32). */
export function alphaSigma(sigma: number): { alpha: number; sigmaT: number } {
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  return { alpha, sigmaT: f32(sigma * alpha) };
}

/** Half log-SNR, lambda = log(alpha) - log(sigma_t); +Infinity at sigma = 0. */
export function lambdaOf(sigma: number): number {
  const { alpha, sigmaT } = alphaSigma(sigma);
  return f32(f32(Math.log(alpha)) - f32(Math.log(sigmaT)));
}

/** diffusers' multistep index_for_timestep: second match for a repeated timestep, last step if absent. */
export function multistepIndexForTimestep(timesteps: readonly number[], timestep: number): number {
  const matches: number[] = [];
  timesteps.forEach((t, i) => t === timestep && matches.push(i));
  if (matches.length === 0) return timesteps.length - 1;
  return matches[matches.length > 1 ? 1 : 0];
}

/** The data prediction x0 from the model output at noise level sigma. */
export function predictOriginal(
  predictionType: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  sigma: number,
): Float32Array {
  if (predictionType === 'sample') return modelOutput;
  const { alpha, sigmaT } = alphaSigma(sigma);
  const out = new Float32Array(sample.length);
  if (predictionType === 'epsilon') {
    for (let i = 0; i < out.length; i++) out[i] = f32(sample[i] - f32(sigmaT * modelOutput[i])) / alpha;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = f32(alpha * sample[i]) - f32(sigmaT * modelOutput[i]);
  }
  return out;
}

/** The noise prediction epsilon from the model output (for the non-"++" noise-space solvers). */
export function predictEpsilon(
  predictionType: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  sigma: number,
): Float32Array {
  if (predictionType === 'epsilon') return modelOutput;
  const { alpha, sigmaT } = alphaSigma(sigma);
  const out = new Float32Array(sample.length);
  if (predictionType === 'sample') {
    for (let i = 0; i < out.length; i++) out[i] = f32(sample[i] - f32(alpha * modelOutput[i])) / sigmaT;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = f32(alpha * modelOutput[i]) + f32(sigmaT * sample[i]);
  }
  return out;
}

/**
 * The sigmas of a multistep solver's steps (DPM-Solver multistep, UniPC): looked up at the spaced
 * timesteps, or, with Karras or exponential sigmas, spaced in sigma between the ends of the training
 * table with the timesteps converted back (int64 for the UNet: rounded half-even when `round`, else
 * truncated). The caller adds the final sigma, which the two solvers choose differently.
 */
export function multistepSigmas(
  trainingSigmas: Float32Array,
  timesteps: number[],
  options: { conversion: 'none' | 'karras' | 'exponential'; steps: number; sigmaMin: number | null; sigmaMax: number | null; round: boolean },
): { timesteps: number[]; sigmas: number[] } {
  const table = trainingSigmas;
  if (options.conversion === 'none') return { timesteps, sigmas: timesteps.map((t) => interpOnIntegerGrid(t, table)) };
  const logSigmas = table.map((s) => Math.log(s));
  const sigmaMin = options.sigmaMin ?? table[0];
  const sigmaMax = options.sigmaMax ?? table[table.length - 1];
  const sigmas =
    options.conversion === 'karras' ? karrasSigmas(sigmaMin, sigmaMax, options.steps) : exponentialSigmas(sigmaMin, sigmaMax, options.steps);
  const converted = sigmas.map((s) => sigmaToTimestep(s, logSigmas)).map((t) => (options.round ? roundHalfEven(t) : Math.trunc(t)));
  return { timesteps: converted, sigmas };
}
