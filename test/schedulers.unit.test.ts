// The schedule tables (timesteps, sigmas, init_noise_sigma) against diffusers' own, for the real
// model's scheduler_config.json, plus the sampler registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { samplerDisplayName, schedulerNames, type SchedulerName } from '../runtime/protocol/generationTypes.ts';
import { createScheduler, defaultSchedulerName } from '../runtime/schedulers/createScheduler.ts';
import type { SchedulerConfig } from '../runtime/schedulers/scheduler.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';

interface ReferenceTable {
  timesteps: number[];
  sigmas?: number[];
  init_noise_sigma: number;
}
const reference = JSON.parse(readFileSync(join(referenceDir, 'schedulers.json'), 'utf8')) as {
  config: SchedulerConfig;
  tables: Record<string, ReferenceTable>;
};
const modelConfig = JSON.parse(readFileSync(join(tinyModelDir, 'scheduler/scheduler_config.json'), 'utf8')) as SchedulerConfig;

// Our float32 emulation reproduces these tables bit for bit, except for a rare last-bit difference
// (1 of the ~2,000 sigmas here, 8e-8 relative) where PyTorch's float32 pow(x, 0.5) rounds the other
// way. 1e-6 relative admits that and nothing a wrong formula or spacing would produce.
const FLOAT_TOLERANCE = 1e-6;

function assertClose(actual: readonly number[], expected: number[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  expected.forEach((value, i) => {
    const error = Math.abs(actual[i] - value) / Math.max(Math.abs(value), 1e-12);
    assert.ok(error <= FLOAT_TOLERANCE || actual[i] === value, `${label}[${i}]: ${actual[i]} vs ${value}`);
  });
}

test('the reference tables cover every sampler at 1, 4, 20, 25 and 50 steps', () => {
  for (const name of schedulerNames) {
    for (const steps of [1, 4, 20, 25, 50]) assert.ok(reference.tables[`${name}.${steps}`], `${name}.${steps}`);
  }
});

for (const [key, table] of Object.entries(reference.tables)) {
  const [name, steps] = key.split('.');
  test(`${key}: timesteps, sigmas and init_noise_sigma match diffusers`, () => {
    const scheduler = createScheduler(name as SchedulerName, reference.config);
    scheduler.setTimesteps(Number(steps));
    // Integer timesteps (DDIM, PNDM, DPM-Solver, UniPC; Euler's are float32) must be identical:
    // the UNet sees them and a rounding slip would move a whole step.
    if (table.timesteps.every(Number.isInteger)) assert.deepEqual([...scheduler.timesteps], table.timesteps);
    else assertClose(scheduler.timesteps, table.timesteps, `${key} timesteps`);
    if (table.sigmas) assertClose(scheduler.sigmas, table.sigmas, `${key} sigmas`);
    else assert.deepEqual([...scheduler.sigmas], []);
    assertClose([scheduler.initNoiseSigma], [table.init_noise_sigma], `${key} init_noise_sigma`);
  });
}

test('the tiny model config gives the same tables as the reference config', () => {
  for (const name of schedulerNames) {
    const fromModel = createScheduler(name, modelConfig);
    fromModel.setTimesteps(20);
    const table = reference.tables[`${name}.20`];
    assertClose(fromModel.timesteps, table.timesteps, `${name} from model config`);
  }
});

test('display names (the form\'s sampler list) are one per sampler', () => {
  assert.deepEqual(
    schedulerNames.map(samplerDisplayName),
    ['DDIM', 'PNDM', 'Euler', 'Euler a', 'LMS', 'DPM++ 2M', 'DPM++ 2M Karras', 'UniPC'],
  );
});

test('defaultSchedulerName follows the config _class_name', () => {
  const cases: [string | undefined, Record<string, unknown>, SchedulerName][] = [
    ['DDIMScheduler', {}, 'ddim'],
    ['PNDMScheduler', {}, 'pndm'],
    ['EulerDiscreteScheduler', {}, 'euler'],
    ['EulerAncestralDiscreteScheduler', {}, 'euler_a'],
    ['LMSDiscreteScheduler', {}, 'lms'],
    ['DPMSolverMultistepScheduler', {}, 'dpmpp_2m'],
    ['DPMSolverMultistepScheduler', { use_karras_sigmas: true }, 'dpmpp_2m_karras'],
    ['UniPCMultistepScheduler', {}, 'unipc'],
    ['SomeFutureScheduler', {}, 'ddim'],
    [undefined, {}, 'ddim'],
  ];
  for (const [className, extra, expected] of cases) {
    assert.equal(defaultSchedulerName({ _class_name: className, ...extra }), expected, String(className));
  }
  assert.equal(defaultSchedulerName(modelConfig), 'ddim');
});

test('createScheduler rejects unknown names and impossible step counts with clear messages', () => {
  assert.throws(() => createScheduler('heun' as SchedulerName, reference.config), /unknown sampler "heun".*ddim, pndm/);
  const scheduler = createScheduler('ddim', reference.config);
  assert.throws(() => scheduler.setTimesteps(0), /steps must be a positive integer/);
  assert.throws(() => scheduler.setTimesteps(2.5), /steps must be a positive integer/);
  assert.throws(() => scheduler.setTimesteps(1001), /cannot exceed the model's num_train_timesteps \(1000\)/);
  assert.throws(() => createScheduler('euler', { ...reference.config, beta_schedule: 'sigmoid' as 'linear' }), /"beta_schedule" must be one of linear, scaled_linear, squaredcos_cap_v2, not "sigmoid"/);
  assert.throws(() => createScheduler('ddim', { ...reference.config, prediction_type: 'flow' as 'epsilon' }), /"prediction_type" must be one of epsilon, v_prediction, sample for the DDIM sampler, not "flow"/);
});

test('steps before setTimesteps are refused', () => {
  const sample = new Float32Array(4);
  for (const name of schedulerNames) {
    const scheduler = createScheduler(name, reference.config);
    assert.throws(() => scheduler.step(sample, 999, sample), Error, name);
  }
});

test('keys listed in _use_default_values fall back to the class defaults, as in diffusers', () => {
  // DDIM's own default spacing is "leading"; Euler's is "linspace", which a DDIM config that merely
  // recorded its default must not override.
  const euler = createScheduler('euler', { ...reference.config, timestep_spacing: 'leading', _use_default_values: ['timestep_spacing'] });
  euler.setTimesteps(4);
  assert.deepEqual([...euler.timesteps], reference.tables['euler.4'].timesteps);
  const leading = createScheduler('euler', { ...reference.config, timestep_spacing: 'leading' });
  leading.setTimesteps(4);
  assert.deepEqual([...leading.timesteps], [751, 501, 251, 1]);
});

test('dpmpp_2m and dpmpp_2m_karras pin DPM-Solver++ order 2 whatever a DPM-Solver config says', () => {
  const config = { ...reference.config, _class_name: 'DPMSolverMultistepScheduler', solver_order: 3, use_karras_sigmas: true };
  const plain = createScheduler('dpmpp_2m', config);
  plain.setTimesteps(20);
  assert.deepEqual([...plain.timesteps], reference.tables['dpmpp_2m.20'].timesteps);
  const karras = createScheduler('dpmpp_2m_karras', { ...reference.config, use_karras_sigmas: false });
  karras.setTimesteps(20);
  assert.deepEqual([...karras.timesteps], reference.tables['dpmpp_2m_karras.20'].timesteps);
});
