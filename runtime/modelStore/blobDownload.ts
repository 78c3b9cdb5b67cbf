import { lstat, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { keptFileSize, NotRegularFileError, openKeptFile } from '../files/newFiles.ts';
import { readBodyChunks } from './bodyChunks.ts';
import { ContentHasher } from './contentHasher.ts';
import type { DownloadProgress, FileDownloadProgress } from './downloadProgress.ts';
import { acquireFileLock, type FileLockOptions } from './fileLock.ts';
import { httpError, type HubClient } from './hubClient.ts';
import type { RepoCachePaths } from './hubPaths.ts';
import { abortError, ModelStoreError } from './modelStoreError.ts';

/** One file to fetch, with everything needed to prove the bytes are the right ones. */
export interface RemoteFile {
  path: string;
  /** The blob's name in the cache: the sha256 for LFS files, the git sha1 ETag otherwise. */
  etag: string;
  size: number;
  sha256?: string;
  gitSha1?: string;
  url: string;
}

export interface BlobDownloadContext {
  client: HubClient;
  paths: RepoCachePaths;
  repoId: string;
  revision: string;
  progress: DownloadProgress;
  /** False for a blob that was complete when the download was planned: the progress total leaves it out. */
  inProgressTotal?: boolean;
  signal?: AbortSignal;
  /**
   * The window progress is judged over: a connection that delivers less than `minBytesPerWindow` in
   * this long counts as dropped (and is resumed), whether it sends nothing or trickles a byte now
   * and then.
   */
  stallTimeoutMs?: number;
  /** Bytes a connection must deliver per stall window; 64 KiB by default (about 1 KB/s over 60 s). */
  minBytesPerWindow?: number;
  /** Automatic resumes after a dropped connection, per file, before giving up. */
  maxResumes?: number;
  lock?: Omit<FileLockOptions, 'signal' | 'onWait'>;
  onMessage?: (text: string) => void;
}

/**
 * The size of the blob file itself. A blob entry that is a symbolic link was not placed by a
 * verified download (blobs are renamed into place): only the link is removed, never what it points
 * to, and the blob counts as absent. Hard links stay: the graph cache makes them on purpose.
 */
async function blobSize(path: string, context: BlobDownloadContext, file: RemoteFile): Promise<number | undefined> {
  const info = await lstat(path).catch(() => undefined);
  if (info?.isSymbolicLink()) {
    context.onMessage?.(`${file.path}: the cached blob is a link, not a file Letterpress downloaded; downloading it again (what the link points to is left alone).`);
    await unlink(path);
    return undefined;
  }
  return info?.size;
}

function parseContentRange(value: string | null): { start: number; total?: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

function describe(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes`;
}

class DroppedConnection extends Error {}

function newHasher(file: RemoteFile): ContentHasher {
  return new ContentHasher(file.size, { sha256: file.sha256 !== undefined, gitSha1: file.gitSha1 !== undefined });
}

/**
 * Makes sure blobs/<etag> holds the verified bytes of `file`, downloading into
 * blobs/<etag>.incomplete (kept across runs and resumed with Range) under a per-blob lock file.
 * The blob only appears, by rename, once its size and hash match; a mismatch deletes the partial
 * file and throws an integrity error naming the file and both values.
 */
export async function downloadBlob(file: RemoteFile, context: BlobDownloadContext): Promise<string> {
  const { paths, signal } = context;
  const blobPath = paths.blob(file.etag);
  // Another process may have fetched it since the download was planned: its bytes count as done.
  const alreadyDone = () => {
    if (context.inProgressTotal !== false) context.progress.fileAlreadyDone(file.path, file.size);
  };
  if ((await blobSize(blobPath, context, file)) === file.size && (await blobTrusted(file, blobPath, context))) {
    alreadyDone();
    return blobPath;
  }
  await mkdir(paths.blobsDir, { recursive: true });
  const lock = await acquireFileLock(paths.lock(file.etag), {
    ...context.lock,
    signal,
    onWait: (holder) =>
      context.onMessage?.(
        `Waiting for another Letterpress process${holder ? ` (pid ${holder.pid})` : ''} that is downloading ${file.path}.`,
      ),
  });
  try {
    const existing = await blobSize(blobPath, context, file);
    if (existing === file.size && (await blobTrusted(file, blobPath, context))) {
      alreadyDone();
      return blobPath;
    }
    // A blob of the wrong size was not made by a verified download: replace it.
    if (existing !== undefined) await rm(blobPath, { force: true });
    const incomplete = `${blobPath}.incomplete`;
    // The partial file is resumed under its fixed (huggingface_hub) name: a link or anything else
    // planted there is refused, never followed.
    let offset = await partialSize(incomplete);
    if (offset > file.size) offset = 0;
    const progress = context.progress.startFile(file.path, file.size, offset);
    try {
      const { hasher, contentType } = await fetchIntoFile(file, incomplete, offset, progress, context);
      await verify(file, incomplete, hasher, contentType);
      if (!file.sha256 && !file.gitSha1) context.onMessage?.(sizeOnlyNote(file));
      await rename(incomplete, blobPath);
    } catch (error) {
      progress.stop();
      throw error;
    }
    progress.finish();
    return blobPath;
  } finally {
    await lock.release();
  }
}

/** Whether the blob's name is a content hash this download can check against. */
function namedByHash(file: RemoteFile): boolean {
  return file.etag === file.sha256 || file.etag === file.gitSha1;
}

function sizeOnlyNote(file: RemoteFile): string {
  return `${file.path} could only be checked by its size: the hub gave no hash for it (its ETag "${file.etag}" is not one), so its content is unverified.`;
}

/**
 * Whether a blob already in the cache, of the right size, can be used as it is. One named by its
 * content hash (sha256 or git blob id, as the hub names them) was only placed there once verified.
 * One named by anything else (a server whose ETag is not a hash) is hashed now against what the file
 * list says; when it lists nothing, the size is all there is to check, and the user is told.
 */
async function blobTrusted(file: RemoteFile, blobPath: string, context: BlobDownloadContext): Promise<boolean> {
  if (namedByHash(file)) return true;
  if (!file.sha256 && !file.gitSha1) {
    context.onMessage?.(sizeOnlyNote(file));
    return true;
  }
  const hasher = newHasher(file);
  await hasher.updateFromFile(blobPath, file.size);
  const digest = hasher.digest();
  if ((file.sha256 && digest.sha256 !== file.sha256) || (file.gitSha1 && digest.gitSha1 !== file.gitSha1)) {
    context.onMessage?.(`${file.path}: the cached copy does not match the hub's hash; downloading it again.`);
    await rm(blobPath, { force: true });
    return false;
  }
  return true;
}

async function partialSize(incomplete: string): Promise<number> {
  try {
    return await keptFileSize(incomplete);
  } catch (error) {
    throw unsafePartial(error);
  }
}

async function openPartial(incomplete: string, mode: 'append' | 'truncate') {
  try {
    return await openKeptFile(incomplete, mode);
  } catch (error) {
    throw unsafePartial(error);
  }
}

function unsafePartial(error: unknown): unknown {
  return error instanceof NotRegularFileError ? new ModelStoreError('unsafe-path', `The partial download ${error.message}`) : error;
}

async function verify(file: RemoteFile, incomplete: string, hasher: ContentHasher, contentType: string): Promise<void> {
  const actualSize = await partialSize(incomplete);
  const digest = hasher.digest();
  let problem: string | undefined;
  if (actualSize !== file.size || hasher.bytes !== file.size) {
    const got = actualSize > file.size ? `more (${describe(actualSize)} before stopping)` : describe(actualSize);
    problem = `expected ${describe(file.size)}, got ${got}`;
  } else if (file.sha256 && digest.sha256 !== file.sha256) {
    problem = `expected sha256 ${file.sha256}, got ${digest.sha256}`;
  } else if (file.gitSha1 && digest.gitSha1 !== file.gitSha1) {
    problem = `expected git blob sha1 ${file.gitSha1}, got ${digest.gitSha1}`;
  }
  if (!problem) return;
  await rm(incomplete, { force: true });
  throw integrityError(file, problem, contentType);
}

function integrityError(file: RemoteFile, problem: string, contentType: string): ModelStoreError {
  const html = /html/i.test(contentType) && !/\.html?$/.test(file.path)
    ? ' The server sent a web page instead of the file (a proxy, captive portal or hub error page?).'
    : '';
  return new ModelStoreError(
    'integrity',
    `${file.path}: the downloaded file is corrupt (${problem}).${html} The bad file was deleted; run the download again.`,
  );
}

async function fetchIntoFile(
  file: RemoteFile,
  incomplete: string,
  startOffset: number,
  progress: FileDownloadProgress,
  context: BlobDownloadContext,
): Promise<{ hasher: ContentHasher; contentType: string }> {
  const { signal } = context;
  const maxResumes = context.maxResumes ?? 3;
  const what = `downloading ${file.path}`;
  let hasher = newHasher(file);
  let resumes = 0;
  // The most bytes of the file ever held: only going past it counts as progress. A server that
  // ignores Range sends the start again each time, and must not earn fresh retries for it.
  let highWater = startOffset;
  const stallMs = context.stallTimeoutMs ?? 60_000;
  const minBytes = context.minBytesPerWindow ?? 64 * 1024;
  let startOver = false;
  let rangeRefused = false;
  let contentType = '';
  let offset = startOffset;
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    if (startOver) offset = 0;
    startOver = false;
    if (offset === 0) await (await openPartial(incomplete, 'truncate')).close();
    if (hasher.bytes !== offset) {
      hasher = newHasher(file);
      await hasher.updateFromFile(incomplete, offset);
    }
    progress.setFileBytes(offset);
    if (offset === file.size) return { hasher, contentType };

    const stall = new AbortController();
    const attemptSignal = signal ? AbortSignal.any([signal, stall.signal]) : stall.signal;
    const watchdog = new StallWatchdog(stallMs, minBytes, () => stall.abort());
    try {
      let response: Response;
      try {
        response = await context.client.openDownload(file.url, offset, attemptSignal, what);
      } catch (error) {
        if (signal?.aborted) throw abortError(signal);
        if (stall.signal.aborted) throw new ModelStoreError('network', `The server stopped answering while ${what}. Run it again to resume.`);
        if (error instanceof ModelStoreError && error.code === 'network' && offset > 0) {
          throw new ModelStoreError('network', `${error.message} ${describe(offset)} of ${file.path} are kept; run the download again to resume.`, { cause: error });
        }
        throw error;
      }
      contentType = response.headers.get('content-type') ?? '';
      if (response.status === 416) {
        // Our partial file is longer than, or inconsistent with, what the server has.
        await response.body?.cancel().catch(() => undefined);
        if (offset === 0 || rangeRefused) throw await httpError(response, context.repoId, context.revision, file.path);
        rangeRefused = true;
        startOver = true;
        continue;
      }
      if (response.status === 206) {
        const range = parseContentRange(response.headers.get('content-range'));
        if (offset === 0 || !range || range.start !== offset) {
          // Appending bytes from anywhere else would corrupt the file: start from zero without Range.
          await response.body?.cancel().catch(() => undefined);
          if (rangeRefused) throw new ModelStoreError('http', `The server sent an unusable byte range while ${what}.`);
          rangeRefused = true;
          startOver = true;
          continue;
        }
        if (range.total !== undefined && range.total !== file.size) {
          await response.body?.cancel().catch(() => undefined);
          await rm(incomplete, { force: true });
          throw integrityError(file, `the server offers ${describe(range.total)}, expected ${describe(file.size)}`, contentType);
        }
      } else if (response.status === 200) {
        if (offset > 0) {
          // The server ignored Range and sends the whole file.
          await (await openPartial(incomplete, 'truncate')).close();
          offset = 0;
          hasher = newHasher(file);
          progress.setFileBytes(0);
        }
        // A compressed body (a proxy ignoring our identity request) is inflated by fetch, so its
        // Content-Length says nothing about the file; the size and hash checks at the end still apply.
        const encoding = (response.headers.get('content-encoding') ?? 'identity').toLowerCase();
        const length = encoding === 'identity' ? response.headers.get('content-length') : null;
        if (length !== null && Number(length) !== file.size) {
          await response.body?.cancel().catch(() => undefined);
          await rm(incomplete, { force: true });
          throw integrityError(file, `expected ${describe(file.size)}, the server sends ${describe(Number(length))}`, contentType);
        }
      } else {
        throw await httpError(response, context.repoId, context.revision, file.path);
      }
      if (!response.body) throw new ModelStoreError('http', `The server sent no content while ${what}.`);

      const handle = await openPartial(incomplete, 'append');
      try {
        for await (const chunk of readBodyChunks(response.body, attemptSignal)) {
          // Only the wait for the network counts: a slow disk on a busy machine is not a stall.
          watchdog.pause();
          await handle.write(chunk);
          watchdog.received(chunk.byteLength);
          hasher.update(chunk);
          progress.addReceived(chunk.byteLength);
          if (hasher.bytes > file.size) {
            // More than the file's size: no need to receive the rest of whatever this is (leaving
            // the loop cancels the body).
            break;
          }
        }
        await handle.sync();
      } catch (error) {
        if (signal?.aborted) throw abortError(signal);
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
          throw new ModelStoreError('disk-space', `The disk filled up while ${what}. Free some space and run it again to resume.`);
        }
        const detail = !stall.signal.aborted
          ? String((error as Error)?.message ?? error)
          : minBytes <= 1
            ? `no data for ${stallMs / 1000} s`
            : `less than ${describe(minBytes)} in ${stallMs / 1000} s`;
        throw new DroppedConnection(detail, { cause: error });
      } finally {
        await handle.close();
      }
      return { hasher, contentType };
    } catch (error) {
      if (!(error instanceof DroppedConnection)) throw error;
      offset = await partialSize(incomplete);
      // As huggingface_hub does: a connection that brought new data earns a fresh set of retries —
      // new meaning at least a window's worth past anything held before: not the same first
      // kilobyte sent once more by a server that ignores Range, nor a byte trickled now and then.
      if (offset - highWater >= minBytes) {
        highWater = offset;
        resumes = 0;
      } else {
        highWater = Math.max(highWater, offset);
        await sleep(1_000, undefined, { signal }).catch(() => undefined);
      }
      if (resumes >= maxResumes) {
        throw new ModelStoreError(
          'network',
          `The connection kept dropping while ${what} (${error.message}). ${describe(offset)} are kept; run the download again to resume.`,
          { cause: error },
        );
      }
      resumes++;
      context.onMessage?.(`The connection dropped while ${what} (${error.message}); resuming at ${describe(offset)}.`);
    } finally {
      watchdog.pause();
    }
  }
}

/**
 * Judges a connection by its progress per window: it fires when fewer than `minBytes` arrived in
 * `ms` of waiting for the network (time spent writing to disk is not counted). A timer that falls
 * due while the event loop was blocked runs before the I/O that arrived meanwhile is read, so the
 * verdict waits for one turn of the loop (setImmediate comes after the poll phase): data that was
 * already there counts before the connection is dropped.
 */
class StallWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;
  private windowBytes = 0;
  /** Waiting time left in the current window when paused. */
  private remainingMs: number;
  private armedAt = 0;

  constructor(
    private readonly ms: number,
    private readonly minBytes: number,
    private readonly onStall: () => void,
  ) {
    this.remainingMs = ms;
    this.arm();
  }

  /** `bytes` arrived: resumes the clock, and a window that reached its quota starts afresh. */
  received(bytes: number): void {
    this.windowBytes += bytes;
    if (this.windowBytes >= this.minBytes) {
      this.windowBytes = 0;
      this.remainingMs = this.ms;
    }
    this.arm();
  }

  pause(): void {
    if (this.timer !== undefined) this.remainingMs = Math.max(0, this.remainingMs - (performance.now() - this.armedAt));
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.pause();
    const generation = this.generation;
    this.armedAt = performance.now();
    this.timer = setTimeout(() => {
      setImmediate(() => {
        if (generation === this.generation && this.windowBytes < this.minBytes) this.onStall();
      });
    }, this.remainingMs);
  }
}
