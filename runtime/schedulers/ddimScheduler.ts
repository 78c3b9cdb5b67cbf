// DDIM (Song et al. 2020), deterministic (eta = 0), as diffusers' DDIMScheduler.
import type { Scheduler, SchedulerConfig } from './scheduler.ts';
import { betaScheduleDefaults, computeAlphasCumprod, computeBetas, withClassDefaults } from './noiseSchedule.ts';
import { checkPredictionType, rejectUnsupported, type PredictionType } from './predictionType.ts';
import { alphaTimesteps, checkStepCount } from './timestepSpacing.ts';
import { addNoiseAtTimestep, checkScheduleIndex } from './addNoise.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export const ddimDefaults = {
  ...betaScheduleDefaults,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  clip_sample_range: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
};

export class DdimScheduler implements Scheduler {
  readonly sigmas: readonly number[] = [];
  readonly initNoiseSigma = 1;
  timesteps: readonly number[] = [];
  readonly alphasCumprod: Float32Array;
  private readonly config: typeof ddimDefaults;
  private readonly predictionType: PredictionType;
  private readonly finalAlphaCumprod: number;
  private numInferenceSteps = 0;

  constructor(config: SchedulerConfig = {}) {
    this.config = withClassDefaults(config, ddimDefaults);
    rejectUnsupported(this.config, ['thresholding'], 'DDIM');
    this.predictionType = checkPredictionType(this.config.prediction_type, ['epsilon', 'v_prediction', 'sample'], 'DDIM');
    this.alphasCumprod = computeAlphasCumprod(computeBetas(this.config));
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number): void {
    const { num_train_timesteps, timestep_spacing, steps_offset } = this.config;
    checkStepCount(numInferenceSteps, num_train_timesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.timesteps = alphaTimesteps(timestep_spacing, num_train_timesteps, numInferenceSteps, steps_offset);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  /** DDIM steps from the timestep alone: nothing to remember. */
  setBeginIndex(index: number): void {
    checkScheduleIndex(index, this.timesteps.length, 'DDIM');
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    checkScheduleIndex(index, this.timesteps.length, 'DDIM');
    return addNoiseAtTimestep(this.alphasCumprod, this.timesteps[index], original, noise);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    if (this.numInferenceSteps === 0) throw new Error('DDIM: call setTimesteps before step');
    // diffusers steps back by the leading ratio whatever the spacing; kept for identical results.
    const prevTimestep = timestep - Math.floor(this.config.num_train_timesteps / this.numInferenceSteps);
    const alphaProd = this.alphasCumprod[timestep];
    if (alphaProd === undefined) throw new RangeError(`DDIM: timestep ${timestep} is not a training timestep`);
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    const betaProd = f32(1 - alphaProd);
    const sqrtAlpha = f32(Math.sqrt(alphaProd));
    const sqrtBeta = f32(Math.sqrt(betaProd));
    const sqrtAlphaPrev = f32(Math.sqrt(alphaProdPrev));
    const directionCoeff = f32(Math.sqrt(f32(1 - alphaProdPrev)));
    const clip = this.config.clip_sample;
    const range = this.config.clip_sample_range;
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const m = modelOutput[i];
      let x0: number;
      let eps: number;
      if (this.predictionType === 'epsilon') {
        x0 = f32(f32(x - f32(sqrtBeta * m)) / sqrtAlpha);
        eps = m;
      } else if (this.predictionType === 'sample') {
        x0 = m;
        eps = f32(f32(x - f32(sqrtAlpha * x0)) / sqrtBeta);
      } else {
        x0 = f32(f32(sqrtAlpha * x) - f32(sqrtBeta * m));
        eps = f32(f32(sqrtAlpha * m) + f32(sqrtBeta * x));
      }
      if (clip) x0 = Math.min(Math.max(x0, -range), range);
      out[i] = f32(sqrtAlphaPrev * x0) + f32(directionCoeff * eps);
    }
    return out;
  }
}
