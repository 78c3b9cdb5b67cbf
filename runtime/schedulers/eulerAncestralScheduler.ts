// Euler ancestral as diffusers' EulerAncestralDiscreteScheduler: an Euler step down to sigma_down,
// then fresh noise of scale sigma_up. The noise comes from the caller's seeded generator, so a
// seed reproduces an image here but not PyTorch's image for that seed.
import type { GaussianNoise } from '../pipeline/gaussianNoise.ts';
import type { SchedulerConfig } from './scheduler.ts';
import { discreteSigmaSchedule, DiscreteSigmaScheduler, sigmaSpaceDenoiser } from './discreteSigmaSchedule.ts';
import { betaScheduleDefaults, trainingNoiseSchedule, withClassDefaults } from './noiseSchedule.ts';
import { checkPredictionType, type PredictionType } from './predictionType.ts';
import { checkStepCount } from './timestepSpacing.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export const eulerAncestralDefaults = {
  ...betaScheduleDefaults,
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
    ({ alphasCumprod: this.alphasCumprod, trainingSigmas: this.trainingSigmas } = trainingNoiseSchedule(this.config));
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
    const denoise = sigmaSpaceDenoiser(this.predictionType, sigma);
    const fresh = noise.randn(sample.length);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const x0 = denoise(x, modelOutput[i]);
      const derivative = f32(f32(x - x0) / sigma);
      out[i] = f32(x + f32(derivative * dt)) + f32(fresh[i] * sigmaUp);
    }
    this.stepIndex = index + 1;
    return out;
  }
}
