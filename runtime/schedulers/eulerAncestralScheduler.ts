// Euler ancestral as diffusers' EulerAncestralDiscreteScheduler: an Euler step down to sigma_down,
// then fresh noise of scale sigma_up. The noise comes from the caller's seeded generator, so a
// seed reproduces an image here but not PyTorch's image for that seed.
import type { GaussianNoise } from '../random/gaussianNoise.ts';
import type { SchedulerConfig } from './scheduler.ts';
import { discreteSigmaSchedule, DiscreteSigmaScheduler } from './discreteSigmaSchedule.ts';
import { computeAlphasCumprod, computeBetas, sigmasFromAlphasCumprod, withClassDefaults } from './noiseSchedule.ts';
import { checkPredictionType, type PredictionType } from './predictionType.ts';
import { checkStepCount } from './timestepSpacing.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export const eulerAncestralDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null as readonly number[] | null,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};

export class EulerAncestralScheduler extends DiscreteSigmaScheduler {
  readonly alphasCumprod: Float32Array;
  protected readonly timestepSpacing: string;
  private readonly config: typeof eulerAncestralDefaults;
  private readonly predictionType: PredictionType;
  private readonly trainingSigmas: Float32Array;

  constructor(config: SchedulerConfig = {}) {
    super();
    this.config = withClassDefaults(config, eulerAncestralDefaults);
    this.timestepSpacing = this.config.timestep_spacing;
    this.predictionType = checkPredictionType(this.config.prediction_type, ['epsilon', 'v_prediction'], 'Euler a');
    this.alphasCumprod = computeAlphasCumprod(computeBetas(this.config));
    if (this.config.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    this.trainingSigmas = sigmasFromAlphasCumprod(this.alphasCumprod);
    this.sigmas = [...Array.from(this.trainingSigmas).reverse(), 0];
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkStepCount(numInferenceSteps, c.num_train_timesteps);
    const { timesteps, sigmas } = discreteSigmaSchedule(this.trainingSigmas, {
      spacing: c.timestep_spacing,
      trainSteps: c.num_train_timesteps,
      steps: numInferenceSteps,
      stepsOffset: c.steps_offset,
      conversion: 'none',
      finalSigma: 0,
    });
    this.useSchedule(timesteps, sigmas);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: GaussianNoise): Float32Array {
    if (!noise) throw new Error('Euler a needs a noise source for its ancestral steps');
    const index = this.currentStepIndex(timestep);
    const sigma = this.sigmas[index];
    const sigmaTo = this.sigmas[index + 1];
    const fromSq = f32(sigma * sigma);
    const toSq = f32(sigmaTo * sigmaTo);
    const sigmaUp = f32(Math.sqrt(f32(f32(toSq * f32(fromSq - toSq)) / fromSq)));
    const sigmaDown = f32(Math.sqrt(f32(toSq - f32(sigmaUp * sigmaUp))));
    const dt = f32(sigmaDown - sigma);
    const vScale = f32(-sigma / f32(Math.sqrt(f32(fromSq + 1))));
    const vDivisor = f32(fromSq + 1);
    const fresh = noise.randn(sample.length);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const m = modelOutput[i];
      const x0 = this.predictionType === 'epsilon' ? f32(x - f32(sigma * m)) : f32(f32(m * vScale) + f32(x / vDivisor));
      const derivative = f32(f32(x - x0) / sigma);
      out[i] = f32(x + f32(derivative * dt)) + f32(fresh[i] * sigmaUp);
    }
    this.stepIndex = index + 1;
    return out;
  }
}
