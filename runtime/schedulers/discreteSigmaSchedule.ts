// Shared by the k-diffusion style samplers (Euler, Euler ancestral, LMS): the sigma schedule for a
// number of steps, the input scaling x / sqrt(sigma² + 1), the denoised sample x0 and the step counter.
import type { PredictionType } from './predictionType.ts';
import type { Scheduler } from './scheduler.ts';
import {
  exponentialSigmas,
  interpOnIntegerGrid,
  karrasSigmas,
  sigmaToTimestep,
  torchLinspaceFloat32,
} from './referenceNumerics.ts';
import { sigmaTimesteps } from './timestepSpacing.ts';
import { addNoiseAtSigma, checkScheduleIndex } from './addNoise.ts';
import { refusedName, SchedulerConfigError } from './schedulerConfigCheck.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export interface SigmaScheduleOptions {
  spacing: string;
  trainSteps: number;
  steps: number;
  stepsOffset: number;
  interpolation?: string;
  conversion: 'none' | 'karras' | 'exponential';
  sigmaMin?: number | null;
  sigmaMax?: number | null;
  finalSigma: number;
}

/** `conversion` from the use_*_sigmas flags, rejecting the combinations diffusers rejects. */
export function sigmaConversion(config: Record<string, unknown>, scheduler: string): SigmaScheduleOptions['conversion'] {
  if (config.use_beta_sigmas) throw new SchedulerConfigError(`"use_beta_sigmas" must be false or null for the ${scheduler} sampler (Letterpress does not support beta sigmas)`);
  if (config.use_karras_sigmas && config.use_exponential_sigmas) {
    throw new SchedulerConfigError(`"use_exponential_sigmas" must be false or null for the ${scheduler} sampler with "use_karras_sigmas" (only one can be set)`);
  }
  return config.use_karras_sigmas ? 'karras' : config.use_exponential_sigmas ? 'exponential' : 'none';
}

/**
 * Timesteps and sigmas (one more than timesteps, ending with finalSigma) for `steps` steps, from
 * the training sigmas `table` (ascending with t, float32).
 */
export function discreteSigmaSchedule(
  table: Float32Array,
  options: SigmaScheduleOptions,
): { timesteps: number[]; sigmas: number[] } {
  let timesteps = sigmaTimesteps(options.spacing, options.trainSteps, options.steps, options.stepsOffset);
  let sigmas: number[];
  const interpolation = options.interpolation ?? 'linear';
  if (interpolation === 'linear') {
    sigmas = timesteps.map((t) => interpOnIntegerGrid(t, table));
  } else if (interpolation === 'log_linear') {
    const logMax = f32(Math.log(table[table.length - 1]));
    const logMin = f32(Math.log(table[0]));
    sigmas = Array.from(torchLinspaceFloat32(logMax, logMin, options.steps + 1), (v) => f32(Math.exp(v)));
  } else {
    throw refusedName('interpolation_type', ['linear', 'log_linear'], interpolation);
  }
  if (options.conversion !== 'none') {
    const sigmaMin = options.sigmaMin ?? sigmas[sigmas.length - 1];
    const sigmaMax = options.sigmaMax ?? sigmas[0];
    sigmas =
      options.conversion === 'karras'
        ? karrasSigmas(sigmaMin, sigmaMax, options.steps)
        : exponentialSigmas(sigmaMin, sigmaMax, options.steps);
    const logSigmas = table.map((s) => Math.log(s));
    timesteps = sigmas.map((s) => f32(sigmaToTimestep(s, logSigmas)));
  }
  return { timesteps, sigmas: [...sigmas, options.finalSigma].map(f32) };
}

/**
 * The denoised sample x0 from a model output at noise level sigma, for the k-diffusion samplers
 * (inputs scaled by 1/sqrt(sigma²+1)), with diffusers' float32 roundings.
 */
export function sigmaSpaceDenoiser(predictionType: PredictionType, sigma: number): (x: number, modelOutput: number) => number {
  if (predictionType === 'epsilon') return (x, m) => f32(x - f32(sigma * m));
  if (predictionType === 'v_prediction') {
    const sigmaSq = f32(sigma * sigma);
    const vScale = f32(-sigma / f32(Math.sqrt(f32(sigmaSq + 1))));
    const vDivisor = f32(sigmaSq + 1);
    return (x, m) => f32(f32(m * vScale) + f32(x / vDivisor));
  }
  return (_x, m) => m;
}

/** The part of Scheduler that every sigma-space sampler shares. */
export abstract class DiscreteSigmaScheduler implements Scheduler {
  timesteps: readonly number[] = [];
  sigmas: readonly number[] = [];
  protected stepIndex: number | null = null;

  protected abstract readonly timestepSpacing: string;

  get initNoiseSigma(): number {
    const maxSigma = this.sigmas.reduce((a, b) => Math.max(a, b), 0);
    if (this.timestepSpacing === 'linspace' || this.timestepSpacing === 'trailing') return maxSigma;
    return f32(Math.sqrt(f32(f32(maxSigma * maxSigma) + 1)));
  }

  abstract setTimesteps(numInferenceSteps: number): void;
  abstract step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: unknown): Float32Array;

  /** Resets the step counter after a new schedule. */
  protected useSchedule(timesteps: number[], sigmas: number[]): void {
    this.timesteps = timesteps;
    this.sigmas = sigmas;
    this.stepIndex = null;
  }

  setBeginIndex(index: number): void {
    checkScheduleIndex(index, this.timesteps.length, 'sampler');
    this.stepIndex = index;
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    checkScheduleIndex(index, this.timesteps.length, 'sampler');
    return addNoiseAtSigma(this.sigmas[index], original, noise);
  }

  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmas[this.currentStepIndex(timestep)];
    const divisor = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    return sample.map((x) => x / divisor);
  }

  /**
   * The index of the step being run. Like diffusers it is found from the first timestep seen
   * (the second match when a timestep repeats) and then just counts.
   */
  protected currentStepIndex(timestep: number): number {
    if (this.timesteps.length === 0) throw new Error('call setTimesteps before running steps');
    if (this.stepIndex === null) {
      const matches: number[] = [];
      this.timesteps.forEach((t, i) => t === timestep && matches.push(i));
      if (matches.length === 0) throw new RangeError(`timestep ${timestep} is not in the current schedule`);
      this.stepIndex = matches[matches.length > 1 ? 1 : 0];
    }
    if (this.stepIndex >= this.timesteps.length) throw new Error('all steps of the schedule have been run; call setTimesteps again');
    return this.stepIndex;
  }
}
