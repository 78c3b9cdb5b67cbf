/**
 * Why a model could not be resolved. Every message is meant for the user: it names the file or the
 * host involved and says what to do next, so the CLI and the extension can show it as is.
 */
export type ModelStoreErrorCode =
  | 'network'
  | 'http'
  | 'integrity'
  | 'not-cached'
  | 'disk-space'
  | 'unsafe-path'
  | 'missing-files'
  | 'bad-input'
  | 'locked';

export class ModelStoreError extends Error {
  constructor(
    readonly code: ModelStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelStoreError';
  }
}

/** The same shape diffusers' callers and the pipeline check for: `error.name === 'AbortError'`. */
export function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const error = new Error('The download was cancelled; run it again to resume.');
  error.name = 'AbortError';
  return error;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
