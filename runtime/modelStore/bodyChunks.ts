import { abortError } from './modelStoreError.ts';

/**
 * The chunks of a fetch body, read so that an abort always ends the wait. Node 20's fetch (undici
 * 6) can leave a pending read of an aborted body unsettled forever when the abort lands just as the
 * last bytes arrive: a download cancelled because another file failed then hung with no socket, no
 * timer and nothing to wake it. Here each read races the signal, and the reader is cancelled on
 * abort, on an early `break` and on any error, so the connection is always let go.
 */
export async function* readBodyChunks(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (!signal) return;
    onAbort = () => reject(abortError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // Only raced: a rejection nobody awaits yet must not count as unhandled.
  aborted.catch(() => undefined);
  let done = false;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), aborted]);
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // Not awaited: a wedged stream's cancel may never settle either, and the caller must go on.
    if (!done) reader.cancel().catch(() => undefined);
    try {
      reader.releaseLock();
    } catch {
      // A read still pending on an older stream implementation: the cancel above ends it.
    }
  }
}
