// What the UNet predicts, as named in scheduler_config.json; each sampler supports a subset.
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

export function checkPredictionType(value: unknown, supported: readonly PredictionType[], scheduler: string): PredictionType {
  if (typeof value === 'string' && (supported as readonly string[]).includes(value)) return value as PredictionType;
  throw new Error(`${scheduler} does not support prediction_type "${String(value)}" (supported: ${supported.join(', ')})`);
}

/** Config switches that change the numerics but that no Stable Diffusion scheduler config uses. */
export function rejectUnsupported(config: Record<string, unknown>, keys: readonly string[], scheduler: string): void {
  for (const key of keys) {
    if (config[key]) throw new Error(`${scheduler}: ${key} is not supported by Letterpress`);
  }
}
