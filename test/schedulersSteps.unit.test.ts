// Whole sampling trajectories against diffusers' schedulers (test/fixtures/reference/scheduler-steps.json,
// made by scheduler-steps.py next to it): the same toy model outputs are fed to both, so every
// step formula, history, warm-up and last-step rule is checked, for the real model's config and
// for variants (v-prediction, trailing/leading spacing, class defaults, cosine betas, Karras and
// exponential sigmas, solver orders 1-3, heun/bh1, sample prediction, PNDM's Runge-Kutta warm-up).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGaussianNoise } from '../runtime/pipeline/gaussianNoise.ts';
import { createScheduler } from '../runtime/schedulers/createScheduler.ts';
import { DdimScheduler, ddimDefaults } from '../runtime/schedulers/ddimScheduler.ts';
import { DpmSolverMultistepScheduler } from '../runtime/schedulers/dpmSolverMultistepScheduler.ts';
import { EulerAncestralScheduler } from '../runtime/schedulers/eulerAncestralScheduler.ts';
import { EulerScheduler } from '../runtime/schedulers/eulerScheduler.ts';
import { LmsScheduler } from '../runtime/schedulers/lmsScheduler.ts';
import { computeAlphasCumprod, computeBetas, withClassDefaults } from '../runtime/schedulers/noiseSchedule.ts';
import { PndmScheduler } from '../runtime/schedulers/pndmScheduler.ts';
import type { Scheduler, SchedulerConfig } from '../runtime/schedulers/scheduler.ts';
import { UniPcScheduler } from '../runtime/schedulers/uniPcScheduler.ts';
import { referenceDir } from './fixturePaths.ts';
import type { SchedulerName } from '../runtime/protocol/generationTypes.ts';

interface StepRecord {
  timestep: number;
  scaled: number[];
  model_output: number[];
  prev: number[];
}
interface CaseRecord {
  key: string;
  class: string;
  config: SchedulerConfig;
  steps: number;
  timesteps: number[];
  init_noise_sigma: number;
  initial: number[];
  trajectory: StepRecord[];
}
const reference = JSON.parse(readFileSync(join(referenceDir, 'scheduler-steps.json'), 'utf8')) as {
  cases: CaseRecord[];
  noise_schedules: Record<string, { config: SchedulerConfig; betas: number[]; alphas_cumprod: number[] }>;
};

const classes: Record<string, new (config: SchedulerConfig) => Scheduler> = {
  DDIMScheduler: DdimScheduler,
  PNDMScheduler: PndmScheduler,
  EulerDiscreteScheduler: EulerScheduler,
  EulerAncestralDiscreteScheduler: EulerAncestralScheduler,
  LMSDiscreteScheduler: LmsScheduler,
  DPMSolverMultistepScheduler: DpmSolverMultistepScheduler,
  UniPCMultistepScheduler: UniPcScheduler,
};

// Every step is computed with the same float32 operations as PyTorch, so most trajectories agree
// bit for bit. The rest differ by a few float32 ulps that then ride along: scipy's quad vs our
// exact LMS integral, numpy's float32 log in the Karras/exponential timesteps, LAPACK's solve in
// UniPC order 3, libm vs V8 exp/log in the last bit. Measured worst case 3.1e-7 relative (to
// max(1, |value|)); 1e-5 leaves a 30x margin while a wrong coefficient, history slot or final-step
// rule moves samples by 1e-3 or more.
const TOLERANCE = 1e-5;

function maxRelativeError(actual: ArrayLike<number>, expected: number[]): number {
  let worst = 0;
  expected.forEach((value, i) => {
    worst = Math.max(worst, Math.abs(actual[i] - value) / Math.max(1, Math.abs(value)));
  });
  return worst;
}

function maxRatioError(actual: ArrayLike<number>, expected: number[]): number {
  return expected.reduce((worst, value, i) => (actual[i] === value ? worst : Math.max(worst, Math.abs(actual[i] - value) / Math.abs(value))), 0);
}

test('the reference covers every sampler class', () => {
  const covered = new Set(reference.cases.map((c) => c.class));
  for (const name of Object.keys(classes)) assert.ok(covered.has(name), name);
  assert.ok(reference.cases.length >= 80);
});

for (const record of reference.cases) {
  test(`${record.key}: trajectory matches diffusers`, () => {
    const scheduler = new classes[record.class](record.config);
    scheduler.setTimesteps(record.steps);
    if (record.timesteps.every(Number.isInteger)) assert.deepEqual([...scheduler.timesteps], record.timesteps);
    else assert.ok(maxRelativeError(scheduler.timesteps, record.timesteps) < 1e-5, `timesteps ${scheduler.timesteps}`);
    assert.ok(Math.abs(scheduler.initNoiseSigma - record.init_noise_sigma) <= 1e-6 * record.init_noise_sigma);

    const noise = createGaussianNoise(1234); // what scheduler-steps.py was given for Euler a
    let sample: Float32Array = Float32Array.from(record.initial);
    record.trajectory.forEach((step, i) => {
      const timestep = scheduler.timesteps[i];
      const scaled = scheduler.scaleModelInput(sample, timestep);
      const scaledError = maxRelativeError(scaled, step.scaled);
      assert.ok(scaledError <= TOLERANCE, `step ${i}: model input off by ${scaledError}`);
      sample = scheduler.step(Float32Array.from(step.model_output), timestep, sample, noise);
      const error = maxRelativeError(sample, step.prev);
      assert.ok(error <= TOLERANCE, `step ${i} (t=${timestep}): sample off by ${error}\n${sample}\n${step.prev}`);
    });
  });
}

test('createScheduler builds the class each sampler name stands for', () => {
  const expected: Record<SchedulerName, string> = {
    ddim: 'DDIMScheduler',
    pndm: 'PNDMScheduler',
    euler: 'EulerDiscreteScheduler',
    euler_a: 'EulerAncestralDiscreteScheduler',
    lms: 'LMSDiscreteScheduler',
    dpmpp_2m: 'DPMSolverMultistepScheduler',
    dpmpp_2m_karras: 'DPMSolverMultistepScheduler',
    unipc: 'UniPCMultistepScheduler',
  };
  for (const [name, className] of Object.entries(expected)) {
    const config = reference.cases.find((c) => c.key === `${name}.sd2.8`)?.config ?? {};
    assert.ok(createScheduler(name as SchedulerName, config) instanceof classes[className], name);
  }
});

test('betas and alphas_cumprod equal PyTorch float32 values', () => {
  for (const [label, schedule] of Object.entries(reference.noise_schedules)) {
    const config = withClassDefaults(schedule.config, ddimDefaults);
    const betas = computeBetas(config);
    const alphasCumprod = computeAlphasCumprod(betas);
    if (label === 'zero_snr') {
      // Zero-terminal-SNR rescaling: 3 of its 1,000 alpha-bars come out one float32 ulp apart
      // from PyTorch's (a different rounding inside its fused kernels), 2e-7 relative.
      // The betas, 1 - ratios of neighbouring alpha-bars, inherit that as up to 1e-4 relative.
      assert.ok(maxRatioError(alphasCumprod, schedule.alphas_cumprod) < 1e-6, `${label} alphas_cumprod`);
      assert.ok(maxRatioError(betas, schedule.betas) < 1e-4, `${label} betas`);
      continue;
    }
    assert.deepEqual(Array.from(betas), schedule.betas, `${label} betas`);
    assert.deepEqual(Array.from(alphasCumprod), schedule.alphas_cumprod, `${label} alphas_cumprod`);
  }
});
