import { hostname } from 'node:os';
import { lstat, mkdir, open, unlink, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileReadError, readRegularTextFile } from '../files/readRegularFile.ts';
import { abortError } from './modelStoreError.ts';

/**
 * A lock file created with O_EXCL, so two processes (two VS Code windows) never write the same
 * partial download. The holder refreshes the file's mtime while it works; a lock whose holder is
 * a dead process on this host, or which nobody refreshed for `staleMs` (a crash on another host
 * sharing the cache, a reused pid), is taken over.
 */
export interface FileLockOptions {
  staleMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once when the lock is held by someone else and we start waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
}

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const maxHolderBytes = 4096;

async function readHolder(path: string): Promise<{ holder?: LockHolder; text: string; mtimeMs: number } | undefined> {
  try {
    const info = await lstat(path);
    // The record is a line of JSON this program wrote; a larger file or a link was planted, and is
    // judged by its age alone, like a holder that crashed before writing.
    const text = await readRegularTextFile(path, maxHolderBytes, 'lock file', { noFollow: true }).catch((error: unknown) => {
      if (error instanceof FileReadError && error.problem === 'missing') throw Object.assign(new Error(error.message), { code: 'ENOENT' });
      if (error instanceof FileReadError) return `(unreadable lock file: ${error.problem}, ${info.size} bytes)`;
      throw error;
    });
    let holder: LockHolder | undefined;
    try {
      const parsed = JSON.parse(text) as Partial<LockHolder>;
      if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') holder = parsed as LockHolder;
    } catch {
      // A holder that crashed between creating and writing the file: judged by age alone.
    }
    return { holder, text, mtimeMs: info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function acquireFileLock(path: string, options: FileLockOptions = {}): Promise<HeldLock> {
  const staleMs = options.staleMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(staleMs / 4));
  const pollMs = options.pollMs ?? 200;
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await mkdir(dirname(path), { recursive: true });
  let waiting = false;
  for (;;) {
    if (options.signal?.aborted) throw abortError(options.signal);
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      return holdLock(path, heartbeatMs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = await readHolder(path);
    if (!current) continue;
    const deadHere = current.holder !== undefined && current.holder.host === me.host && !processIsAlive(current.holder.pid);
    const silent = Date.now() - current.mtimeMs > staleMs;
    if (deadHere || silent) {
      // Remove it only if it is still the very lock judged stale, so that of two waiters taking
      // over at once, the second does not delete the lock the first has just created.
      const again = await readHolder(path);
      if (again && again.text === current.text && again.mtimeMs === current.mtimeMs) {
        await unlink(path).catch(() => undefined);
      }
      continue;
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.(current.holder);
    }
    await sleep(pollMs, undefined, { signal: options.signal }).catch(() => {
      throw abortError(options.signal);
    });
  }
}

function holdLock(path: string, heartbeatMs: number): HeldLock {
  const timer = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, heartbeatMs);
  timer.unref();
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await unlink(path).catch(() => undefined);
    },
  };
}
