// The one interface every sampler implements; the pipeline loop knows nothing else about them.
import type { GaussianNoise } from '../pipeline/gaussianNoise.ts';

/** scheduler/scheduler_config.json as diffusers writes it (keys kept in snake_case). */
export interface SchedulerConfig {
  num_train_timesteps?: number;
  beta_start?: number;
  beta_end?: number;
  beta_schedule?: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  trained_betas?: number[] | null;
  steps_offset?: number;
  timestep_spacing?: 'leading' | 'trailing' | 'linspace';
  set_alpha_to_one?: boolean;
  clip_sample?: boolean;
  prediction_type?: 'epsilon' | 'v_prediction' | 'sample';
  skip_prk_steps?: boolean;
  [key: string]: unknown;
}

export interface Scheduler {
  /** Timesteps of the current schedule, in the order the model is called (after setTimesteps). */
  readonly timesteps: readonly number[];
  /**
   * Noise level per step for sigma-based samplers, one more than timesteps (ending at the final
   * sigma, usually 0); empty for the alpha-based ones (DDIM, PNDM).
   */
  readonly sigmas: readonly number[];
  /** Factor the unscaled initial noise is multiplied by; depends on the schedule, so read it after setTimesteps. */
  readonly initNoiseSigma: number;
  /**
   * Builds the schedule and clears all per-run state (step counter, model output history), so call
   * it before every image; samples of a batch share one run.
   */
  setTimesteps(numInferenceSteps: number): void;
  /** Input scaling before the UNet call (identity for DDIM/PNDM/DPM/UniPC). */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  /**
   * One denoising step: returns the previous (less noisy) sample. Called once per entry of
   * `timesteps`, in order. `noise` is required by ancestral samplers only. Inputs are not modified;
   * the result is a new array (scaleModelInput may return its input unchanged).
   */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: GaussianNoise): Float32Array;
  /**
   * Image-to-image: the run starts at entry `index` of `timesteps` (diffusers' set_begin_index, as
   * its get_timesteps calls it). Call after setTimesteps, before the first step.
   */
  setBeginIndex(index: number): void;
  /**
   * diffusers' add_noise: `original` noised with `noise` to the level of entry `index` of
   * `timesteps` (the index, not the timestep, so that repeated timesteps are never ambiguous).
   */
  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array;
}
