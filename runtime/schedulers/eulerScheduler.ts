// Euler (Karras et al. 2022, algorithm 2 without churn) as diffusers' EulerDiscreteScheduler.
import type { SchedulerConfig } from './scheduler.ts';
import { discreteSigmaSchedule, DiscreteSigmaScheduler, sigmaConversion, sigmaSpaceDenoiser } from './discreteSigmaSchedule.ts';
import { betaScheduleDefaults, trainingNoiseSchedule, withClassDefaults } from './noiseSchedule.ts';
import { checkPredictionType, type PredictionType } from './predictionType.ts';
import { checkStepCount } from './timestepSpacing.ts';
import { refusedName } from './schedulerConfigCheck.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export const eulerDefaults = {
  ...betaScheduleDefaults,
  prediction_type: 'epsilon',
  interpolation_type: 'linear',
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  sigma_min: null as number | null,
  sigma_max: null as number | null,
  timestep_spacing: 'linspace',
  timestep_type: 'discrete',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
  final_sigmas_type: 'zero',
};

export class EulerScheduler extends DiscreteSigmaScheduler {
  readonly alphasCumprod: Float32Array;
  protected readonly timestepSpacing: string;
  private readonly config: typeof eulerDefaults;
  private readonly predictionType: PredictionType;
  private readonly trainingSigmas: Float32Array;

  constructor(config: SchedulerConfig = {}) {
    super();
    this.config = withClassDefaults(config, eulerDefaults);
    this.timestepSpacing = this.config.timestep_spacing;
    this.predictionType = checkPredictionType(this.config.prediction_type, ['epsilon', 'v_prediction', 'sample'], 'Euler');
    sigmaConversion(this.config, 'Euler');
    if (!['zero', 'sigma_min'].includes(this.config.final_sigmas_type)) {
      throw refusedName('final_sigmas_type', ['zero', 'sigma_min'], this.config.final_sigmas_type, 'Euler');
    }
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
      interpolation: c.interpolation_type,
      conversion: sigmaConversion(c, 'Euler'),
      sigmaMin: c.sigma_min,
      sigmaMax: c.sigma_max,
      finalSigma: c.final_sigmas_type === 'sigma_min' ? this.trainingSigmas[0] : 0,
    });
    const continuous = c.timestep_type === 'continuous' && c.prediction_type === 'v_prediction';
    this.useSchedule(continuous ? sigmas.slice(0, -1).map((s) => f32(0.25 * f32(Math.log(s)))) : timesteps, sigmas);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const index = this.currentStepIndex(timestep);
    const sigma = this.sigmas[index];
    const dt = f32(this.sigmas[index + 1] - sigma);
    const denoise = sigmaSpaceDenoiser(this.predictionType, sigma);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const x0 = denoise(x, modelOutput[i]);
      const derivative = f32(f32(x - x0) / sigma);
      out[i] = x + f32(derivative * dt);
    }
    this.stepIndex = index + 1;
    return out;
  }
}
