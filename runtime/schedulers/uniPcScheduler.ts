// UniPC (Zhao et al. 2023) as diffusers' UniPCMultistepScheduler: each step first corrects the
// current sample with the new model output (UniC), then predicts the next one (UniP). Defaults:
// bh2, solver_order 2, data prediction, lower_order_final.
import type { Scheduler, SchedulerConfig } from './scheduler.ts';
import { sigmaConversion } from './discreteSigmaSchedule.ts';
import { alphaSigma, lambdaOf, multistepIndexForTimestep, multistepSigmas, predictEpsilon, predictOriginal } from './multistepSchedule.ts';
import { addNoiseVariancePreserving, checkScheduleIndex } from './addNoise.ts';
import { betaScheduleDefaults, trainingNoiseSchedule, withClassDefaults } from './noiseSchedule.ts';
import { checkPredictionType, rejectUnsupported, type PredictionType } from './predictionType.ts';
import { refusedName, SchedulerConfigError } from './schedulerConfigCheck.ts';
import { solveLinearSystem } from './referenceNumerics.ts';
import { checkStepCount, multistepTimesteps } from './timestepSpacing.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export const uniPcDefaults = {
  ...betaScheduleDefaults,
  solver_order: 2,
  prediction_type: 'epsilon',
  thresholding: false,
  predict_x0: true,
  solver_type: 'bh2',
  lower_order_final: true,
  disable_corrector: [] as number[],
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  use_flow_sigmas: false as boolean | null,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  final_sigmas_type: 'zero',
  rescale_betas_zero_snr: false,
  use_dynamic_shifting: false,
  sigma_min: null as number | null,
  sigma_max: null as number | null,
};

export class UniPcScheduler implements Scheduler {
  readonly initNoiseSigma = 1;
  timesteps: readonly number[] = [];
  sigmas: readonly number[] = [];
  readonly alphasCumprod: Float32Array;
  private readonly config: typeof uniPcDefaults;
  private readonly predictionType: PredictionType;
  private readonly trainingSigmas: Float32Array;
  private modelOutputs: (Float32Array | null)[] = [];
  private lowerOrderNums = 0;
  private lastSample: Float32Array | null = null;
  private thisOrder = 1;
  private stepIndex: number | null = null;

  constructor(config: SchedulerConfig = {}) {
    const c = withClassDefaults(config, uniPcDefaults);
    this.config = c;
    rejectUnsupported(c, ['thresholding', 'use_flow_sigmas', 'use_dynamic_shifting'], 'UniPC');
    if (['midpoint', 'heun', 'logrho'].includes(c.solver_type)) c.solver_type = 'bh2';
    if (!['bh1', 'bh2'].includes(c.solver_type)) throw refusedName('solver_type', ['bh1', 'bh2', 'midpoint', 'heun', 'logrho'], c.solver_type, 'UniPC');
    if (!Number.isInteger(c.solver_order) || c.solver_order < 1) throw new SchedulerConfigError(`"solver_order" must be a whole number from 1 for the UniPC sampler, not ${c.solver_order}`);
    if (!['zero', 'sigma_min'].includes(c.final_sigmas_type)) throw refusedName('final_sigmas_type', ['zero', 'sigma_min'], c.final_sigmas_type, 'UniPC');
    sigmaConversion(c, 'UniPC');
    this.predictionType = checkPredictionType(c.prediction_type, ['epsilon', 'v_prediction', 'sample'], 'UniPC');
    ({ alphasCumprod: this.alphasCumprod, trainingSigmas: this.trainingSigmas } = trainingNoiseSchedule(c));
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    checkStepCount(numInferenceSteps, c.num_train_timesteps);
    const conversion = sigmaConversion(c, 'UniPC');
    const { timesteps, sigmas } = multistepSigmas(
      this.trainingSigmas,
      multistepTimesteps(c.timestep_spacing, c.num_train_timesteps, c.num_train_timesteps, numInferenceSteps, c.steps_offset),
      { conversion, steps: numInferenceSteps, sigmaMin: c.sigma_min, sigmaMax: c.sigma_max, round: conversion === 'karras' },
    );
    // Unlike DPM-Solver, UniPC's sigma_min end point is the last converted sigma when sigmas are converted.
    const sigmaMinEnd = conversion === 'none' ? this.trainingSigmas[0] : sigmas[sigmas.length - 1];
    const sigmaLast = c.final_sigmas_type === 'sigma_min' ? sigmaMinEnd : 0;
    this.sigmas = [...sigmas, sigmaLast].map(f32);
    this.timesteps = timesteps;
    this.modelOutputs = new Array(c.solver_order).fill(null);
    this.lowerOrderNums = 0;
    this.lastSample = null;
    this.thisOrder = 1;
    this.stepIndex = null;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  setBeginIndex(index: number): void {
    checkScheduleIndex(index, this.timesteps.length, 'UniPC');
    this.stepIndex = index;
  }

  addNoise(original: Float32Array, noise: Float32Array, index: number): Float32Array {
    checkScheduleIndex(index, this.timesteps.length, 'UniPC');
    return addNoiseVariancePreserving(this.sigmas[index], original, noise);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    if (this.timesteps.length === 0) throw new Error('UniPC: call setTimesteps before step');
    this.stepIndex ??= multistepIndexForTimestep(this.timesteps, timestep);
    const index = this.stepIndex;
    if (index >= this.timesteps.length) throw new Error('UniPC: all steps have been run; call setTimesteps again');
    const c = this.config;
    const useCorrector = index > 0 && !c.disable_corrector.includes(index - 1) && this.lastSample !== null;
    const sigma = this.sigmas[index];
    const converted = c.predict_x0
      ? predictOriginal(this.predictionType, modelOutput, sample, sigma)
      : predictEpsilon(this.predictionType, modelOutput, sample, sigma);
    let current = sample;
    if (useCorrector && this.lastSample) current = this.correct(converted, this.lastSample, sample, this.thisOrder, index);

    this.modelOutputs.shift();
    this.modelOutputs.push(converted);
    const wanted = c.lower_order_final ? Math.min(c.solver_order, this.timesteps.length - index) : c.solver_order;
    this.thisOrder = Math.min(wanted, this.lowerOrderNums + 1);
    this.lastSample = current;
    const prev = this.predict(current, this.thisOrder, index);
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++;
    this.stepIndex = index + 1;
    return prev;
  }

  private history(back: number): Float32Array {
    const value = this.modelOutputs[this.modelOutputs.length - 1 - back];
    if (!value) throw new Error('UniPC: missing model output history');
    return value;
  }

  /**
   * The B(h)-scaled coefficients of the UniPC update between sigmas sFrom → sTo, with the
   * earlier lambdas giving the ratios r_k. Returns everything both updates share.
   */
  private coefficients(sTo: number, sFrom: number, earlierSigmas: number[], order: number) {
    const { alpha: alphaT, sigmaT } = alphaSigma(sTo);
    const { alpha: alphaS0, sigmaT: sigmaS0 } = alphaSigma(sFrom);
    const lambdaS0 = lambdaOf(sFrom);
    const h = f32(lambdaOf(sTo) - lambdaS0);
    const rks = earlierSigmas.map((s) => f32(f32(lambdaOf(s) - lambdaS0) / h));
    rks.push(1);
    const hh = this.config.predict_x0 ? -h : h;
    const hPhi1 = f32(Math.expm1(hh));
    let hPhiK = f32(f32(hPhi1 / hh) - 1);
    let factorial = 1;
    const bH = this.config.solver_type === 'bh1' ? hh : f32(Math.expm1(hh));
    const r: number[][] = [];
    const b: number[] = [];
    for (let i = 1; i <= order; i++) {
      r.push(rks.map((rk) => f32(rk ** (i - 1))));
      b.push(f32(f32(hPhiK * factorial) / bH));
      factorial *= i + 1;
      hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial));
    }
    // x_t_ = sampleCoeff * x - outputCoeff * m0, then minus residualCoeff * (weighted differences).
    const [sampleCoeff, outputCoeff, residualCoeff] = this.config.predict_x0
      ? [f32(sigmaT / sigmaS0), f32(alphaT * hPhi1), f32(alphaT * bH)]
      : [f32(alphaT / alphaS0), f32(sigmaT * hPhi1), f32(sigmaT * bH)];
    return { rks, r, b, sampleCoeff, outputCoeff, residualCoeff };
  }

  /** UniP: predicts the sample at sigmas[index + 1]. */
  private predict(sample: Float32Array, order: number, index: number): Float32Array {
    const s = this.sigmas;
    const earlier = Array.from({ length: order - 1 }, (_, k) => s[index - (k + 1)]);
    const { rks, r, b, sampleCoeff, outputCoeff, residualCoeff } = this.coefficients(s[index + 1], s[index], earlier, order);
    const m0 = this.history(0);
    const differences = earlier.map((_, k) => ({ m: this.history(k + 1), rk: rks[k] }));
    let rhos: number[] = [];
    if (differences.length === 1) rhos = [0.5];
    else if (differences.length > 1) rhos = solveLinearSystem(r.slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1)).map(f32);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) {
      const base = f32(f32(sampleCoeff * sample[i]) - f32(outputCoeff * m0[i]));
      if (differences.length === 0) {
        out[i] = base;
        continue;
      }
      let residual = 0;
      for (let k = 0; k < differences.length; k++) {
        residual = f32(residual + f32(rhos[k] * f32(f32(differences[k].m[i] - m0[i]) / differences[k].rk)));
      }
      out[i] = base - f32(residualCoeff * residual);
    }
    return out;
  }

  /** UniC: corrects the sample at sigmas[index] with the model output just evaluated there. */
  private correct(
    modelT: Float32Array,
    lastSample: Float32Array,
    thisSample: Float32Array,
    order: number,
    index: number,
  ): Float32Array {
    const s = this.sigmas;
    const earlier = Array.from({ length: order - 1 }, (_, k) => s[index - (k + 2)]);
    const { rks, r, b, sampleCoeff, outputCoeff, residualCoeff } = this.coefficients(s[index], s[index - 1], earlier, order);
    const m0 = this.history(0);
    const differences = earlier.map((_, k) => ({ m: this.history(k + 1), rk: rks[k] }));
    const rhos = order === 1 ? [0.5] : solveLinearSystem(r, b).map(f32);
    const rhoT = rhos[rhos.length - 1];
    const out = new Float32Array(thisSample.length);
    for (let i = 0; i < out.length; i++) {
      const base = f32(f32(sampleCoeff * lastSample[i]) - f32(outputCoeff * m0[i]));
      let residual = 0;
      for (let k = 0; k < differences.length; k++) {
        residual = f32(residual + f32(rhos[k] * f32(f32(differences[k].m[i] - m0[i]) / differences[k].rk)));
      }
      const d1t = f32(modelT[i] - m0[i]);
      out[i] = base - f32(residualCoeff * f32(residual + f32(rhoT * d1t)));
    }
    return out;
  }
}
