// DPM-Solver++ multistep (Lu et al. 2022) as diffusers' DPMSolverMultistepScheduler: "DPM++ 2M"
// is algorithm_type dpmsolver++ with solver_order 2, "DPM++ 2M Karras" the same on Karras sigmas.
import type { Scheduler, SchedulerConfig } from './scheduler.ts';
import { sigmaConversion } from './discreteSigmaSchedule.ts';
import { alphaSigma, lambdaOf, multistepIndexForTimestep, multistepSigmas, predictEpsilon, predictOriginal } from './multistepSchedule.ts';
import { addNoiseVariancePreserving, checkScheduleIndex } from './addNoise.ts';
import { betaScheduleDefaults, trainingNoiseSchedule, withClassDefaults } from './noiseSchedule.ts';
import { checkPredictionType, rejectUnsupported, type PredictionType } from './predictionType.ts';
import { refusedName, SchedulerConfigError } from './schedulerConfigCheck.ts';
import { checkStepCount, multistepTimesteps } from './timestepSpacing.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export const dpmSolverMultistepDefaults = {
  ...betaScheduleDefaults,
  solver_order: 2,
  prediction_type: 'epsilon',
  thresholding: false,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lower_order_final: true,
  euler_at_final: false,
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  use_lu_lambdas: false as boolean | null,
  use_flow_sigmas: false as boolean | null,
  sigma_min: null as number | null,
  sigma_max: null as number | null,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
  variance_type: null as string | null,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};

export class DpmSolverMultistepScheduler implements Scheduler {
  readonly initNoiseSigma = 1;
  timesteps: readonly number[] = [];
  sigmas: readonly number[] = [];
  readonly alphasCumprod: Float32Array;
  private readonly config: typeof dpmSolverMultistepDefaults;
  private readonly predictionType: PredictionType;
  private readonly dataPrediction: boolean;
  private readonly trainingSigmas: Float32Array;
  private modelOutputs: (Float32Array | null)[] = [];
  private lowerOrderNums = 0;
  private stepIndex: number | null = null;

  constructor(config: SchedulerConfig = {}) {
    const c = withClassDefaults(config, dpmSolverMultistepDefaults);
    this.config = c;
    // diffusers' DPM-Solver acts on variance_type only when the UNet predicts a variance (learned, learned_range).
    rejectUnsupported(c, ['thresholding', 'use_lu_lambdas', 'use_flow_sigmas', ['variance_type', ['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log']]], 'DPM-Solver');
    if (c.algorithm_type === 'deis') c.algorithm_type = 'dpmsolver++';
    if (!['dpmsolver++', 'dpmsolver'].includes(c.algorithm_type)) throw refusedName('algorithm_type', ['dpmsolver++', 'dpmsolver', 'deis'], c.algorithm_type, 'DPM-Solver');
    if (['logrho', 'bh1', 'bh2'].includes(c.solver_type)) c.solver_type = 'midpoint';
    if (!['midpoint', 'heun'].includes(c.solver_type)) throw refusedName('solver_type', ['midpoint', 'heun', 'logrho', 'bh1', 'bh2'], c.solver_type, 'DPM-Solver');
    if (![1, 2, 3].includes(c.solver_order)) throw new SchedulerConfigError(`"solver_order" must be 1, 2 or 3 for the DPM-Solver sampler, not ${c.solver_order}`);
    if (c.algorithm_type === 'dpmsolver' && c.final_sigmas_type === 'zero') {
      throw new SchedulerConfigError('"final_sigmas_type" "zero" needs "algorithm_type" dpmsolver++ for the DPM-Solver sampler; use "sigma_min"');
    }
    if (!['zero', 'sigma_min'].includes(c.final_sigmas_type)) throw refusedName('final_sigmas_type', ['zero', 'sigma_min'], c.final_sigmas_type, 'DPM-Solver');
    sigmaConversion(c, 'DPM-Solver');
    this.dataPrediction = c.algorithm_type === 'dpmsolver++';
    this.predictionType = checkPredictionType(c.prediction_type, ['epsilon', 'v_prediction', 'sample'], 'DPM-Solver');
    ({ alphasCumprod: this.alphasCumprod, trainingSigmas: this.trainingSigmas } = trainingNoiseSchedule(c));
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkStepCount(numInferenceSteps, c.num_train_timesteps);
    // lambda_min_clipped cuts off the noisiest timesteps (for cosine schedules); -inf keeps all.
    const lambdas = this.alphasCumprod.map((a) => f32(Math.log(f32(Math.sqrt(a)))) - f32(Math.log(f32(Math.sqrt(f32(1 - a))))));
    let clipped = 0;
    for (let i = lambdas.length - 1; i >= 0 && lambdas[i] < c.lambda_min_clipped; i--) clipped++;
    const lastTimestep = c.num_train_timesteps - clipped;
    const conversion = sigmaConversion(c, 'DPM-Solver');
    const { timesteps, sigmas } = multistepSigmas(
      this.trainingSigmas,
      multistepTimesteps(c.timestep_spacing, c.num_train_timesteps, lastTimestep, numInferenceSteps, c.steps_offset),
      // diffusers rounds Karras timesteps except for the cosine schedule, where it truncates.
      { conversion, steps: numInferenceSteps, sigmaMin: c.sigma_min, sigmaMax: c.sigma_max, round: conversion === 'karras' && c.beta_schedule !== 'squaredcos_cap_v2' },
    );
    const sigmaLast = c.final_sigmas_type === 'sigma_min' ? this.trainingSigmas[0] : 0;
    this.sigmas = [...sigmas, sigmaLast].map(f32);
    this.timesteps = timesteps;
    this.modelOutputs = new Array(c.solver_order).fill(null);
    this.lowerOrderNums = 0;
    this.stepIndex = null;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  setBeginIndex(index: number): void {
    checkScheduleIndex(index, this.timesteps.length, 'DPM-Solver');
    this.stepIndex = index;
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    checkScheduleIndex(index, this.timesteps.length, 'DPM-Solver');
    return addNoiseVariancePreserving(this.sigmas[index], original, noise);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    if (this.timesteps.length === 0) throw new Error('DPM-Solver: call setTimesteps before step');
    this.stepIndex ??= multistepIndexForTimestep(this.timesteps, timestep);
    const index = this.stepIndex;
    if (index >= this.timesteps.length) throw new Error('DPM-Solver: all steps have been run; call setTimesteps again');
    const c = this.config;
    const count = this.timesteps.length;
    const lowerOrderFinal =
      index === count - 1 &&
      (c.euler_at_final || (c.lower_order_final && count < 15) || c.final_sigmas_type === 'zero');
    const lowerOrderSecond = index === count - 2 && c.lower_order_final && count < 15;

    const sigma = this.sigmas[index];
    const converted = this.dataPrediction
      ? predictOriginal(this.predictionType, modelOutput, sample, sigma)
      : predictEpsilon(this.predictionType, modelOutput, sample, sigma);
    this.modelOutputs.shift();
    this.modelOutputs.push(converted);

    let prev: Float32Array;
    if (c.solver_order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) {
      prev = this.firstOrderUpdate(converted, sample, index);
    } else if (c.solver_order === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) {
      prev = this.secondOrderUpdate(sample, index);
    } else {
      prev = this.thirdOrderUpdate(sample, index);
    }
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++;
    this.stepIndex = index + 1;
    return prev;
  }

  private history(back: number): Float32Array {
    const value = this.modelOutputs[this.modelOutputs.length - 1 - back];
    if (!value) throw new Error('DPM-Solver: missing model output history');
    return value;
  }

  /** DPM-Solver-1 (equivalent to DDIM). */
  private firstOrderUpdate(m0: Float32Array, sample: Float32Array, index: number): Float32Array {
    const { alpha: alphaT, sigmaT } = alphaSigma(this.sigmas[index + 1]);
    const { alpha: alphaS, sigmaT: sigmaS } = alphaSigma(this.sigmas[index]);
    const h = f32(lambdaOf(this.sigmas[index + 1]) - lambdaOf(this.sigmas[index]));
    const [sampleCoeff, outputCoeff] = this.dataPrediction
      ? [f32(sigmaT / sigmaS), f32(alphaT * f32(f32(Math.exp(-h)) - 1))]
      : [f32(alphaT / alphaS), f32(sigmaT * f32(f32(Math.exp(h)) - 1))];
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) out[i] = f32(sampleCoeff * sample[i]) - f32(outputCoeff * m0[i]);
    return out;
  }

  /** Multistep DPM-Solver-2 from the last two model outputs. */
  private secondOrderUpdate(sample: Float32Array, index: number): Float32Array {
    const s = this.sigmas;
    const { alpha: alphaT, sigmaT } = alphaSigma(s[index + 1]);
    const { alpha: alphaS0, sigmaT: sigmaS0 } = alphaSigma(s[index]);
    const lambdaT = lambdaOf(s[index + 1]);
    const lambdaS0 = lambdaOf(s[index]);
    const lambdaS1 = lambdaOf(s[index - 1]);
    const m0 = this.history(0);
    const m1 = this.history(1);
    const h = f32(lambdaT - lambdaS0);
    const h0 = f32(lambdaS0 - lambdaS1);
    const invR0 = f32(1 / f32(h0 / h));
    let sampleCoeff: number;
    let d0Coeff: number;
    let d1Coeff: number;
    let sign: number;
    if (this.dataPrediction) {
      const expm = f32(f32(Math.exp(-h)) - 1);
      sampleCoeff = f32(sigmaT / sigmaS0);
      d0Coeff = f32(alphaT * expm);
      if (this.config.solver_type === 'midpoint') {
        d1Coeff = f32(0.5 * d0Coeff);
        sign = -1;
      } else {
        d1Coeff = f32(alphaT * f32(f32(expm / h) + 1));
        sign = 1;
      }
    } else {
      const expm = f32(f32(Math.exp(h)) - 1);
      sampleCoeff = f32(alphaT / alphaS0);
      d0Coeff = f32(sigmaT * expm);
      d1Coeff = this.config.solver_type === 'midpoint' ? f32(0.5 * d0Coeff) : f32(sigmaT * f32(f32(expm / h) - 1));
      sign = -1;
    }
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) {
      const d1 = f32(invR0 * f32(m0[i] - m1[i]));
      const partial = f32(f32(sampleCoeff * sample[i]) - f32(d0Coeff * m0[i]));
      out[i] = sign < 0 ? partial - f32(d1Coeff * d1) : partial + f32(d1Coeff * d1);
    }
    return out;
  }

  /** Multistep DPM-Solver-3 from the last three model outputs. */
  private thirdOrderUpdate(sample: Float32Array, index: number): Float32Array {
    const s = this.sigmas;
    const { alpha: alphaT, sigmaT } = alphaSigma(s[index + 1]);
    const { alpha: alphaS0, sigmaT: sigmaS0 } = alphaSigma(s[index]);
    const lambdaT = lambdaOf(s[index + 1]);
    const lambdaS0 = lambdaOf(s[index]);
    const lambdaS1 = lambdaOf(s[index - 1]);
    const lambdaS2 = lambdaOf(s[index - 2]);
    const [m0, m1, m2] = [this.history(0), this.history(1), this.history(2)];
    const h = f32(lambdaT - lambdaS0);
    const r0 = f32(f32(lambdaS0 - lambdaS1) / h);
    const r1 = f32(f32(lambdaS1 - lambdaS2) / h);
    const invR0 = f32(1 / r0);
    const invR1 = f32(1 / r1);
    const d1Mix = f32(r0 / f32(r0 + r1));
    const d2Scale = f32(1 / f32(r0 + r1));
    let c0: number;
    let c1: number;
    let c2: number;
    let sampleCoeff: number;
    if (this.dataPrediction) {
      const expm = f32(f32(Math.exp(-h)) - 1);
      sampleCoeff = f32(sigmaT / sigmaS0);
      c0 = -f32(alphaT * expm);
      c1 = f32(alphaT * f32(f32(expm / h) + 1));
      c2 = -f32(alphaT * f32(f32(f32(expm + h) / f32(h * h)) - 0.5));
    } else {
      const expm = f32(f32(Math.exp(h)) - 1);
      sampleCoeff = f32(alphaT / alphaS0);
      c0 = -f32(sigmaT * expm);
      c1 = -f32(sigmaT * f32(f32(expm / h) - 1));
      c2 = -f32(sigmaT * f32(f32(f32(expm - h) / f32(h * h)) - 0.5));
    }
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) {
      const d10 = f32(invR0 * f32(m0[i] - m1[i]));
      const d11 = f32(invR1 * f32(m1[i] - m2[i]));
      const d1 = f32(d10 + f32(d1Mix * f32(d10 - d11)));
      const d2 = f32(d2Scale * f32(d10 - d11));
      out[i] = f32(f32(f32(sampleCoeff * sample[i]) + f32(c0 * m0[i])) + f32(c1 * d1)) + f32(c2 * d2);
    }
    return out;
  }
}
