// The training noise schedule every sampler derives from (betas → alphas_cumprod → sigmas), computed
// the way diffusers does it in float32 PyTorch so that our tables agree with the reference bit for bit.
import type { SchedulerConfig } from './scheduler.ts';
import { torchLinspaceFloat32 } from './referenceNumerics.ts';
import { refusedName } from './schedulerConfigCheck.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export interface NoiseScheduleConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: readonly number[] | null;
  rescale_betas_zero_snr?: boolean;
}

/** The training noise schedule's keys with diffusers' class defaults, shared by every sampler. */
export const betaScheduleDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as readonly number[] | null,
};

/**
 * Keys the config sets override the scheduler class's own defaults, exactly like diffusers'
 * `SomeScheduler.from_config(config)`: keys listed in `_use_default_values` count as unset and keys
 * the class does not know are ignored.
 */
export function withClassDefaults<T extends object>(config: SchedulerConfig, defaults: T): T {
  const useDefaults = new Set(Array.isArray(config._use_default_values) ? (config._use_default_values as string[]) : []);
  const resolved: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const key of Object.keys(defaults)) {
    if (key in config && config[key] !== undefined && !useDefaults.has(key)) resolved[key] = config[key];
  }
  return resolved as T;
}

export function computeBetas(config: NoiseScheduleConfig): Float32Array {
  const n = config.num_train_timesteps;
  if (!Number.isInteger(n) || n < 2) throw new Error(`num_train_timesteps must be an integer >= 2, got ${n}`);
  let betas: Float32Array;
  if (config.trained_betas != null) {
    betas = Float32Array.from(config.trained_betas);
  } else if (config.beta_schedule === 'linear') {
    betas = torchLinspaceFloat32(config.beta_start, config.beta_end, n);
  } else if (config.beta_schedule === 'scaled_linear') {
    betas = torchLinspaceFloat32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), n).map((b) => b * b);
  } else if (config.beta_schedule === 'squaredcos_cap_v2') {
    betas = cosineBetas(n);
  } else {
    throw refusedName('beta_schedule', ['linear', 'scaled_linear', 'squaredcos_cap_v2'], config.beta_schedule);
  }
  return config.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** Glide's cosine schedule (betas_for_alpha_bar), computed in float64 and stored as float32. */
function cosineBetas(n: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const betas = new Float32Array(n);
  for (let i = 0; i < n; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), maxBeta);
  return betas;
}

/** PyTorch's CPU cumprod multiplies in double and stores each running product as float32. */
export function cumprodFloat32(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  let product = 1;
  for (let i = 0; i < values.length; i++) {
    product *= values[i];
    out[i] = product;
  }
  return out;
}

/** alphas_cumprod = cumprod(1 - betas), float32. */
export function computeAlphasCumprod(betas: Float32Array): Float32Array {
  return cumprodFloat32(betas.map((b) => 1 - b));
}

/** "Common Diffusion Noise Schedules and Sample Steps are Flawed" (Lin et al.), algorithm 1, in float32. */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const alphasCumprod = computeAlphasCumprod(betas);
  const sqrtBar = alphasCumprod.map((a) => Math.sqrt(a));
  const first = sqrtBar[0];
  const last = sqrtBar[sqrtBar.length - 1];
  const scale = f32(first / f32(first - last));
  const bar = sqrtBar.map((s) => {
    const shifted = f32(f32(s - last) * scale);
    return shifted * shifted;
  });
  const out = new Float32Array(betas.length);
  out[0] = 1 - bar[0];
  for (let i = 1; i < bar.length; i++) out[i] = 1 - f32(bar[i] / bar[i - 1]);
  return out;
}

/** Karras-style noise levels sigma_t = sqrt((1 - ᾱ_t) / ᾱ_t), ascending with t, float32. */
export function sigmasFromAlphasCumprod(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => Math.sqrt(f32(f32(1 - a) / a)));
}

/**
 * ᾱ and the training sigmas of a sigma-space sampler. With zero terminal SNR the last sigma would be
 * infinite; diffusers pins that ᾱ to 2^-24 instead, and so do we.
 */
export function trainingNoiseSchedule(config: NoiseScheduleConfig): { alphasCumprod: Float32Array; trainingSigmas: Float32Array } {
  const alphasCumprod = computeAlphasCumprod(computeBetas(config));
  if (config.rescale_betas_zero_snr) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
  return { alphasCumprod, trainingSigmas: sigmasFromAlphasCumprod(alphasCumprod) };
}
