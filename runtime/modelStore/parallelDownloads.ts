import { abortError } from './modelStoreError.ts';

/**
 * How many weight files are fetched at once. The hub's file store limits each connection well below
 * a fast line, and the model is three large files (UNet 3.5 GB, text encoder 1.4 GB, VAE 0.3 GB):
 * one connection each lets the large ones arrive together instead of one after another.
 */
export const defaultParallelDownloads = 3;

/** Enough of a file to schedule it: LFS files (they have a sha256) are the large weights. */
export interface SchedulableFile {
  path: string;
  size: number;
  sha256?: string;
}

/**
 * Runs `fetchOne` for every file, at most `limit` at once: one lane takes the small git-stored files
 * (configs, tokenizer) first, so they never wait behind gigabytes, the others take the weights
 * largest first (the largest decides when the download ends); a lane with nothing left of its kind
 * takes the other kind. `limit` 1 fetches one file at a time, the small ones first.
 *
 * The first failure stops the rest: files in flight are cancelled through the signal passed to
 * `fetchOne` (each keeps its partial file for the next run), no new file starts, and the failure is
 * thrown once every lane has settled, so no file is still being written or locked afterwards.
 */
export async function runParallelDownloads<T extends SchedulableFile>(
  files: readonly T[],
  options: { limit?: number; signal?: AbortSignal },
  fetchOne: (file: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const limit = Math.max(1, Math.floor(options.limit ?? defaultParallelDownloads));
  const large = files.filter((f) => f.sha256 !== undefined).sort((a, b) => b.size - a.size);
  const small = files.filter((f) => f.sha256 === undefined);
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let failure: { error: unknown } | undefined;

  const lane = async (take: () => T | undefined) => {
    for (let file = take(); file && !failure; file = take()) {
      if (signal.aborted) break;
      try {
        await fetchOne(file, signal);
      } catch (error) {
        if (failure) continue;
        failure = { error };
        stop.abort();
      }
    }
  };
  const lanes = [lane(() => small.shift() ?? large.shift())];
  for (let i = 1; i < limit; i++) lanes.push(lane(() => large.shift() ?? small.shift()));
  await Promise.all(lanes);
  if (failure) throw failure.error;
  if (options.signal?.aborted) throw abortError(options.signal);
}
