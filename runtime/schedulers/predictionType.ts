// What the UNet predicts, as named in scheduler_config.json; each sampler supports a subset.
import { refusedName, SchedulerConfigError } from './schedulerConfigCheck.ts';

export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

export function checkPredictionType(value: unknown, supported: readonly PredictionType[], scheduler: string): PredictionType {
  if (typeof value === 'string' && (supported as readonly string[]).includes(value)) return value as PredictionType;
  throw refusedName('prediction_type', supported, value, scheduler);
}

/**
 * Config switches that change the numerics but that no Stable Diffusion scheduler config uses: each
 * key may be absent or false, or (given a list) one of the harmless values listed for it.
 */
export function rejectUnsupported(
  config: Record<string, unknown>,
  keys: readonly (string | readonly [key: string, harmless: readonly string[]])[],
  scheduler: string,
): void {
  for (const entry of keys) {
    const [key, harmless] = typeof entry === 'string' ? [entry, []] : entry;
    const value = config[key];
    if (!value || (harmless as readonly unknown[]).includes(value)) continue;
    const allowed = harmless.length > 0 ? `null or one of ${harmless.join(', ')}` : 'false or null';
    throw new SchedulerConfigError(`"${key}" must be ${allowed} for the ${scheduler} sampler (Letterpress does not support ${JSON.stringify(value)})`);
  }
}
