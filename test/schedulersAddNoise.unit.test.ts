// add_noise and set_begin_index of every sampler (what image-to-image and inpainting use) against
// diffusers' own tables: the schedules in schedulers.json and ᾱ_t in scheduler-steps.json. diffusers
// noises with sqrt(ᾱ_t)·x + sqrt(1 − ᾱ_t)·n (DDIM, PNDM), x + σ·n (Euler, Euler a, LMS) and
// α·x + σ_t·n with α = 1/sqrt(σ² + 1) (DPM-Solver, UniPC), σ taken at the step's index.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { schedulerNames, type SchedulerName } from '../runtime/protocol/generationTypes.ts';
import { createScheduler } from '../runtime/schedulers/createScheduler.ts';
import type { SchedulerConfig } from '../runtime/schedulers/scheduler.ts';
import { referenceDir } from './fixturePaths.ts';

const tables = JSON.parse(readFileSync(join(referenceDir, 'schedulers.json'), 'utf8')) as {
  config: SchedulerConfig;
  tables: Record<string, { timesteps: number[]; sigmas?: number[] }>;
};
const alphasCumprod = (
  JSON.parse(readFileSync(join(referenceDir, 'scheduler-steps.json'), 'utf8')) as {
    noise_schedules: { sd2: { config: SchedulerConfig; alphas_cumprod: number[] } };
  }
).noise_schedules.sd2.alphas_cumprod;

const kind: Record<SchedulerName, 'alpha' | 'sigma' | 'vp'> = {
  ddim: 'alpha',
  pndm: 'alpha',
  euler: 'sigma',
  euler_a: 'sigma',
  lms: 'sigma',
  dpmpp_2m: 'vp',
  dpmpp_2m_karras: 'vp',
  unipc: 'vp',
};

// A clean sample and noise with both signs and a range of magnitudes.
const original = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7) * (1 + i / 4));
const noise = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i * 2.3) * 1.5);

function expectedAt(name: SchedulerName, steps: number, index: number): Float64Array {
  const table = tables.tables[`${name}.${steps}`]!;
  const out = new Float64Array(original.length);
  for (let i = 0; i < out.length; i++) {
    if (kind[name] === 'alpha') {
      const a = alphasCumprod[table.timesteps[index]!]!;
      out[i] = Math.sqrt(a) * original[i]! + Math.sqrt(1 - a) * noise[i]!;
    } else {
      const sigma = table.sigmas![index]!;
      if (kind[name] === 'sigma') out[i] = original[i]! + sigma * noise[i]!;
      else {
        const alpha = 1 / Math.sqrt(sigma * sigma + 1);
        out[i] = alpha * original[i]! + sigma * alpha * noise[i]!;
      }
    }
  }
  return out;
}

for (const name of schedulerNames) {
  test(`${name}: add_noise at every step of 4, 20 and 25-step schedules matches diffusers' tables`, () => {
    for (const steps of [4, 20, 25]) {
      const scheduler = createScheduler(name, tables.config);
      scheduler.setTimesteps(steps);
      assert.deepEqual([...scheduler.timesteps], tables.tables[`${name}.${steps}`]!.timesteps, `${name}.${steps} timesteps`);
      for (let index = 0; index < scheduler.timesteps.length; index++) {
        const actual = scheduler.addNoise(original, noise, index);
        const expected = expectedAt(name, steps, index);
        for (let i = 0; i < expected.length; i++) {
          // float32 arithmetic against the float64 formula on float32 tables: a few float32 ulps.
          const error = Math.abs(actual[i]! - expected[i]!);
          assert.ok(error <= 4e-6 * Math.max(1, Math.abs(expected[i]!)), `${name}.${steps} step ${index} [${i}]: ${actual[i]} vs ${expected[i]}`);
        }
      }
      assert.throws(() => scheduler.addNoise(original, noise, scheduler.timesteps.length), /outside the schedule/);
      assert.throws(() => scheduler.addNoise(original, noise.subarray(1), 0), /values/);
    }
  });
}

test('setBeginIndex: Euler entered at step 4 moves from σ_4 to σ_5; every sampler refuses an index outside its schedule', () => {
  const euler = createScheduler('euler', tables.config);
  euler.setTimesteps(20);
  euler.setBeginIndex(4);
  const sigmas = tables.tables['euler.20']!.sigmas!;
  const x = euler.addNoise(original, noise, 4);
  const eps = noise;
  // Euler with an epsilon model: x + ε·(σ_5 − σ_4).
  const next = euler.step(eps, euler.timesteps[4]!, x);
  for (let i = 0; i < x.length; i++) {
    const expected = x[i]! + eps[i]! * (sigmas[5]! - sigmas[4]!);
    assert.ok(Math.abs(next[i]! - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `[${i}] ${next[i]} vs ${expected}`);
  }
  for (const name of schedulerNames) {
    const scheduler = createScheduler(name, tables.config);
    scheduler.setTimesteps(10);
    assert.throws(() => scheduler.setBeginIndex(scheduler.timesteps.length), /outside the schedule/, name);
    assert.throws(() => scheduler.setBeginIndex(-1), /outside the schedule/, name);
  }
});
