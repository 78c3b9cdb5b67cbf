// Checks a scheduler_config.json before any sampler is built from it. The config comes with the
// model (a download, a clone): `num_train_timesteps` 1e9 would build a gigabyte-sized noise schedule
// and run for minutes before writing a black image, `steps_offset` 1e9 would index past the
// schedule. Every field that shapes the schedule is checked for type and range here, and the
// message names the field and the file.
import type { SchedulerConfig } from './scheduler.ts';

export class SchedulerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchedulerConfigError';
  }
}

/** Training steps of any released diffusion model are 1000; room for ten times that. */
export const maxTrainTimesteps = 10_000;

/**
 * Every field the samplers read as a name, with the names the code acts on; anything else is refused
 * here, naming the field and these values, before a sampler is built. Some names are taken as
 * diffusers takes them: DPM-Solver runs logrho, bh1 and bh2 as midpoint and UniPC runs midpoint,
 * heun and logrho as bh2; our DPM++ samplers run dpmsolver++ whatever algorithm_type says
 * (createScheduler pins it), so the file may name any of diffusers' DPM-Solver algorithms.
 * Whether the chosen sampler supports a value (PNDM has no "sample" prediction) is its own check:
 * see checkSamplerConfig.
 */
export const schedulerEnumFields: Readonly<Record<string, readonly string[]>> = {
  beta_schedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  timestep_spacing: ['leading', 'trailing', 'linspace'],
  prediction_type: ['epsilon', 'v_prediction', 'sample'],
  algorithm_type: ['dpmsolver++', 'dpmsolver', 'sde-dpmsolver++', 'sde-dpmsolver', 'deis'],
  solver_type: ['midpoint', 'heun', 'logrho', 'bh1', 'bh2'],
  final_sigmas_type: ['zero', 'sigma_min'],
  interpolation_type: ['linear', 'log_linear'],
  timestep_type: ['discrete', 'continuous'],
  variance_type: ['fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log', 'learned', 'learned_range'],
};

const booleanFields = [
  'set_alpha_to_one',
  'clip_sample',
  'skip_prk_steps',
  'rescale_betas_zero_snr',
  'use_karras_sigmas',
  'use_exponential_sigmas',
  'use_beta_sigmas',
  'use_lu_lambdas',
  'use_flow_sigmas',
  'use_dynamic_shifting',
  'lower_order_final',
  'thresholding',
  'euler_at_final',
  'predict_x0',
];

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * The one shape of a refused name: `"solver_type" must be one of bh1, bh2 for the UniPC sampler, not
 * "x"` (checkSamplerConfig puts the file in front).
 */
export function refusedName(key: string, allowed: readonly string[], value: unknown, sampler?: string): SchedulerConfigError {
  return new SchedulerConfigError(`"${key}" must be one of ${allowed.join(', ')}${sampler ? ` for the ${sampler} sampler` : ''}, not ${describe(value)}`);
}

/**
 * The config, unchanged, when every field that shapes the schedule is sound; otherwise a
 * SchedulerConfigError such as `scheduler/scheduler_config.json: "num_train_timesteps" must be a whole
 * number from 2 to 10000, not 1000000000`.
 */
export function checkSchedulerConfig(value: unknown, file = 'scheduler/scheduler_config.json'): SchedulerConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SchedulerConfigError(`${file} must hold a JSON object, not ${describe(value)}`);
  }
  const config = value as SchedulerConfig;
  const fail = (key: string, what: string): never => {
    throw new SchedulerConfigError(`${file}: "${key}" must be ${what}, not ${describe(config[key])}`);
  };
  const present = (key: string): boolean => config[key] !== undefined && config[key] !== null;
  const wholeNumber = (key: string, min: number, max: number): number | undefined => {
    if (!present(key)) return undefined;
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(key, `a whole number from ${min} to ${max}`);
    return v as number;
  };
  const number = (key: string, min: number, max: number, exclusiveMin: boolean): number | undefined => {
    if (!present(key)) return undefined;
    const v = config[key];
    const ok = typeof v === 'number' && Number.isFinite(v) && (exclusiveMin ? v > min : v >= min) && v <= max;
    if (!ok) fail(key, `a number ${exclusiveMin ? 'above' : 'from'} ${min} ${exclusiveMin ? 'and up to' : 'to'} ${max}`);
    return v as number;
  };

  const steps = wholeNumber('num_train_timesteps', 2, maxTrainTimesteps) ?? 1000;
  const betaStart = number('beta_start', 0, 1, true);
  const betaEnd = number('beta_end', 0, 1, true);
  if (betaStart !== undefined && betaEnd !== undefined && betaStart > betaEnd) {
    throw new SchedulerConfigError(`${file}: "beta_start" (${betaStart}) must not be above "beta_end" (${betaEnd})`);
  }
  if (present('trained_betas')) {
    const betas = config.trained_betas;
    if (!Array.isArray(betas) || betas.length !== steps) fail('trained_betas', `null or a list of ${steps} numbers (one per training step)`);
    (betas as unknown[]).forEach((b, i) => {
      if (typeof b !== 'number' || !Number.isFinite(b) || b <= 0 || b >= 1) {
        throw new SchedulerConfigError(`${file}: "trained_betas"[${i}] must be a number above 0 and below 1, not ${describe(b)}`);
      }
    });
  }
  wholeNumber('steps_offset', 0, steps - 1);
  wholeNumber('solver_order', 1, 3);
  number('clip_sample_range', 0, 1e6, true);
  number('sample_max_value', 0, 1e6, true);
  number('dynamic_thresholding_ratio', 0, 1, true);
  number('sigma_min', 0, 1e6, true);
  number('sigma_max', 0, 1e6, true);
  if (present('lambda_min_clipped')) {
    const v = config.lambda_min_clipped;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail('lambda_min_clipped', 'a number');
  }
  for (const [key, allowed] of Object.entries(schedulerEnumFields)) {
    if (present(key) && !allowed.includes(config[key] as string)) fail(key, `one of ${allowed.join(', ')}`);
  }
  if (present('disable_corrector')) {
    // UniPC's steps without a corrector: step indices, at most one per training step.
    const v = config.disable_corrector;
    const ok = Array.isArray(v) && v.length <= steps && v.every((i) => typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < steps);
    if (!ok) fail('disable_corrector', `a list of step numbers from 0 to ${steps - 1}`);
  }
  for (const key of booleanFields) {
    if (present(key) && typeof config[key] !== 'boolean') fail(key, 'true or false');
  }
  return config;
}
