// PNDM (Liu et al. 2022) as diffusers' PNDMScheduler: Runge-Kutta warm-up steps unless
// skip_prk_steps, then pseudo linear multistep (PLMS) over a history of up to four model outputs.
// With skip_prk_steps the second timestep is repeated: the first PLMS step is a plain DDIM-like step
// whose result is discarded once the model has been evaluated at the predicted point.
import type { Scheduler, SchedulerConfig } from './scheduler.ts';
import { betaScheduleDefaults, computeAlphasCumprod, computeBetas, withClassDefaults } from './noiseSchedule.ts';
import { checkPredictionType, type PredictionType } from './predictionType.ts';
import { alphaTimesteps, checkStepCount } from './timestepSpacing.ts';
import { addNoiseAtTimestep, checkScheduleIndex } from './addNoise.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export const pndmDefaults = {
  ...betaScheduleDefaults,
  skip_prk_steps: false,
  set_alpha_to_one: false,
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
  steps_offset: 0,
};

const PNDM_ORDER = 4;

export class PndmScheduler implements Scheduler {
  readonly sigmas: readonly number[] = [];
  readonly initNoiseSigma = 1;
  timesteps: readonly number[] = [];
  readonly alphasCumprod: Float32Array;
  private readonly config: typeof pndmDefaults;
  private readonly predictionType: PredictionType;
  private readonly finalAlphaCumprod: number;
  private numInferenceSteps = 0;
  private prkTimesteps: number[] = [];
  private counter = 0;
  private ets: Float32Array[] = [];
  private curSample: Float32Array | null = null;
  private curModelOutput: Float32Array | null = null;

  constructor(config: SchedulerConfig = {}) {
    this.config = withClassDefaults(config, pndmDefaults);
    this.predictionType = checkPredictionType(this.config.prediction_type, ['epsilon', 'v_prediction'], 'PNDM');
    this.alphasCumprod = computeAlphasCumprod(computeBetas(this.config));
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number): void {
    const { num_train_timesteps: trainSteps, timestep_spacing, steps_offset } = this.config;
    checkStepCount(numInferenceSteps, trainSteps);
    this.numInferenceSteps = numInferenceSteps;
    const ascending = alphaTimesteps(timestep_spacing, trainSteps, numInferenceSteps, steps_offset).reverse();
    let plms: number[];
    if (this.config.skip_prk_steps) {
      this.prkTimesteps = [];
      plms = [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)].reverse();
    } else {
      const half = Math.floor(Math.floor(trainSteps / numInferenceSteps) / 2);
      const lastFour = ascending.slice(-PNDM_ORDER);
      const paired = lastFour.flatMap((t) => [t, t + half]);
      const doubled = paired.slice(0, -1).flatMap((t) => [t, t]);
      this.prkTimesteps = doubled.slice(1, -1).reverse();
      plms = ascending.slice(0, -3).reverse();
    }
    this.timesteps = [...this.prkTimesteps, ...plms];
    this.ets = [];
    this.counter = 0;
    this.curSample = null;
    this.curModelOutput = null;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  /** diffusers' PNDM has no begin index: its step counter starts at 0 wherever the run starts. */
  setBeginIndex(index: number): void {
    checkScheduleIndex(index, this.timesteps.length, 'PNDM');
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    checkScheduleIndex(index, this.timesteps.length, 'PNDM');
    return addNoiseAtTimestep(this.alphasCumprod, this.timesteps[index], original, noise);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    if (this.numInferenceSteps === 0) throw new Error('PNDM: call setTimesteps before step');
    if (this.counter < this.prkTimesteps.length && !this.config.skip_prk_steps) {
      return this.stepPrk(modelOutput, timestep, sample);
    }
    return this.stepPlms(modelOutput, timestep, sample);
  }

  private stepPrk(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const half = Math.floor(Math.floor(this.config.num_train_timesteps / this.numInferenceSteps) / 2);
    const prevTimestep = timestep - (this.counter % 2 ? 0 : half);
    const t = this.prkTimesteps[Math.floor(this.counter / 4) * 4];
    let output = modelOutput;
    const phase = this.counter % 4;
    if (phase === 0) {
      this.curModelOutput = accumulate(this.curModelOutput, modelOutput, 1 / 6);
      this.ets.push(modelOutput);
      this.curSample = sample;
    } else if (phase === 1 || phase === 2) {
      this.curModelOutput = accumulate(this.curModelOutput, modelOutput, 1 / 3);
    } else {
      output = accumulate(this.curModelOutput, modelOutput, 1 / 6);
      this.curModelOutput = null;
    }
    const prev = this.prevSample(this.curSample ?? sample, t, prevTimestep, output);
    this.counter++;
    return prev;
  }

  private stepPlms(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    if (!this.config.skip_prk_steps && this.ets.length < 3) {
      throw new Error('PNDM: PLMS steps need the Runge-Kutta warm-up steps first');
    }
    const ratio = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps);
    let t = timestep;
    let prevTimestep = timestep - ratio;
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(modelOutput);
    } else {
      // The repeated timestep: step from the previous point over the same interval again.
      prevTimestep = timestep;
      t = timestep + ratio;
    }
    const ets = this.ets;
    const n = ets.length;
    let x = sample;
    let output: Float32Array;
    if (n === 1 && this.counter === 0) {
      output = modelOutput;
      this.curSample = sample;
    } else if (n === 1 && this.counter === 1) {
      output = combine([modelOutput, ets[0]], [1, 1], 2);
      x = this.curSample ?? sample;
      this.curSample = null;
    } else if (n === 2) {
      output = combine([ets[1], ets[0]], [3, -1], 2);
    } else if (n === 3) {
      output = combine([ets[2], ets[1], ets[0]], [23, -16, 5], 12);
    } else {
      output = combine([ets[3], ets[2], ets[1], ets[0]], [55, -59, 37, -9], 24);
    }
    const prev = this.prevSample(x, t, prevTimestep, output);
    this.counter++;
    return prev;
  }

  /** Formula (9) of the PNDM paper: the DDIM-style transfer from t to prevTimestep. */
  private prevSample(sample: Float32Array, t: number, prevTimestep: number, modelOutput: Float32Array): Float32Array {
    const alphaProd = this.alphasCumprod[t];
    if (alphaProd === undefined) throw new RangeError(`PNDM: timestep ${t} is not a training timestep`);
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    const betaProd = f32(1 - alphaProd);
    const betaProdPrev = f32(1 - alphaProdPrev);
    const sampleCoeff = f32(Math.sqrt(f32(alphaProdPrev / alphaProd)));
    const denom = f32(
      f32(alphaProd * f32(Math.sqrt(betaProdPrev))) + f32(Math.sqrt(f32(f32(alphaProd * betaProd) * alphaProdPrev))),
    );
    const diff = f32(alphaProdPrev - alphaProd);
    const sqrtAlpha = f32(Math.sqrt(alphaProd));
    const sqrtBeta = f32(Math.sqrt(betaProd));
    const velocity = this.predictionType === 'v_prediction';
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const eps = velocity ? f32(f32(sqrtAlpha * modelOutput[i]) + f32(sqrtBeta * x)) : modelOutput[i];
      out[i] = f32(sampleCoeff * x) - f32(f32(diff * eps) / denom);
    }
    return out;
  }
}

/** acc + weight * value (acc null meaning 0), in float32 like the torch expression. */
function accumulate(acc: Float32Array | null, value: Float32Array, weight: number): Float32Array {
  const w = f32(weight);
  const out = new Float32Array(value.length);
  for (let i = 0; i < value.length; i++) out[i] = (acc ? acc[i] : 0) + f32(w * value[i]);
  return out;
}

/**
 * (c0 * e0 + c1 * e1 + …) / divisor, evaluated left to right in float32 like the diffusers
 * expressions; divisor 24 is applied as a (1/24) factor in front, as diffusers writes it.
 */
function combine(terms: Float32Array[], coeffs: number[], divisor: number): Float32Array {
  const out = new Float32Array(terms[0].length);
  const invDivisor = f32(1 / divisor);
  for (let i = 0; i < out.length; i++) {
    let sum = f32(coeffs[0] * terms[0][i]);
    for (let k = 1; k < terms.length; k++) sum = f32(sum + f32(coeffs[k] * terms[k][i]));
    out[i] = divisor === 24 ? invDivisor * sum : sum / divisor;
  }
  return out;
}
