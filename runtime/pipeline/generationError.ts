/** A generation request the user can fix (bad size, unknown scheduler, incomplete model folder). */
export class GenerationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerationError';
  }
}

/** Rejection value of a cancelled job; callers test `error.name === 'AbortError'`. */
export function abortError(message = 'image generation was cancelled'): Error {
  const error = new Error(message);
  error.name = 'AbortError';
  return error;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}
