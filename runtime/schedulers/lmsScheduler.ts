// Linear multistep (k-diffusion's LMS) as diffusers' LMSDiscreteScheduler, order 4: the derivative
// history is extrapolated with the Lagrange polynomial through the last sigmas and integrated over
// the step. diffusers integrates numerically (scipy quad); the integrand is a polynomial of degree
// at most 3, so three-point Gauss–Legendre gives the exact value.
import type { SchedulerConfig } from './scheduler.ts';
import { discreteSigmaSchedule, DiscreteSigmaScheduler, sigmaConversion, sigmaSpaceDenoiser } from './discreteSigmaSchedule.ts';
import { betaScheduleDefaults, trainingNoiseSchedule, withClassDefaults } from './noiseSchedule.ts';
import { checkPredictionType, type PredictionType } from './predictionType.ts';
import { checkStepCount } from './timestepSpacing.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export const lmsDefaults = {
  ...betaScheduleDefaults,
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
};

const LMS_ORDER = 4;
const GAUSS_NODES = [-Math.sqrt(3 / 5), 0, Math.sqrt(3 / 5)];
const GAUSS_WEIGHTS = [5 / 9, 8 / 9, 5 / 9];

export class LmsScheduler extends DiscreteSigmaScheduler {
  readonly alphasCumprod: Float32Array;
  protected readonly timestepSpacing: string;
  private readonly config: typeof lmsDefaults;
  private readonly predictionType: PredictionType;
  private readonly trainingSigmas: Float32Array;
  private derivatives: Float32Array[] = [];

  constructor(config: SchedulerConfig = {}) {
    super();
    this.config = withClassDefaults(config, lmsDefaults);
    this.timestepSpacing = this.config.timestep_spacing;
    this.predictionType = checkPredictionType(this.config.prediction_type, ['epsilon', 'v_prediction', 'sample'], 'LMS');
    sigmaConversion(this.config, 'LMS');
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
      conversion: sigmaConversion(c, 'LMS'),
      finalSigma: 0,
    });
    this.useSchedule(timesteps, sigmas);
    this.derivatives = [];
  }

  /**
   * ∫ from sigmas[t] to sigmas[t+1] of the Lagrange basis polynomial that is 1 at
   * sigmas[t - current] and 0 at the other sigmas[t - k], k < order.
   */
  lmsCoefficient(order: number, t: number, current: number): number {
    const s = this.sigmas;
    const basis = (tau: number): number => {
      let product = 1;
      for (let k = 0; k < order; k++) {
        if (k !== current) product *= (tau - s[t - k]) / (s[t - current] - s[t - k]);
      }
      return product;
    };
    const a = s[t];
    const b = s[t + 1];
    const half = (b - a) / 2;
    const mid = (a + b) / 2;
    let sum = 0;
    for (let i = 0; i < GAUSS_NODES.length; i++) sum += GAUSS_WEIGHTS[i] * basis(mid + half * GAUSS_NODES[i]);
    return sum * half;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const index = this.currentStepIndex(timestep);
    const sigma = this.sigmas[index];
    const denoise = sigmaSpaceDenoiser(this.predictionType, sigma);
    const derivative = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const x0 = denoise(x, modelOutput[i]);
      derivative[i] = f32(x - x0) / sigma;
    }
    this.derivatives.push(derivative);
    if (this.derivatives.length > LMS_ORDER) this.derivatives.shift();
    const order = Math.min(index + 1, LMS_ORDER);
    const coeffs = Array.from({ length: order }, (_, k) => f32(this.lmsCoefficient(order, index, k)));
    // Newest derivative pairs with coefficient 0, as diffusers zips coefficients with reversed history.
    const history = [...this.derivatives].reverse();
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      let update = f32(coeffs[0] * history[0][i]);
      for (let k = 1; k < order; k++) update = f32(update + f32(coeffs[k] * history[k][i]));
      out[i] = sample[i] + update;
    }
    this.stepIndex = index + 1;
    return out;
  }
}
