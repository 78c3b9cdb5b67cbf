import { homedir } from 'node:os';
import { join, posix, win32 } from 'node:path';
import { ModelStoreError } from './modelStoreError.ts';

export const defaultEndpoint = 'https://huggingface.co';

const commitHashPattern = /^[0-9a-f]{40}$/;
const repoIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function isCommitHash(revision: string): boolean {
  return commitHashPattern.test(revision);
}

export function isTruthyEnv(value: string | undefined): boolean {
  return value !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(value.toUpperCase());
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

/** The hub cache folder, found the way huggingface_hub finds it so both share one cache. */
export function defaultHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (explicit) return expandHome(explicit);
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return join(expandHome(hfHome), 'hub');
}

export function hubEndpoint(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return (explicit || env.HF_ENDPOINT || defaultEndpoint).replace(/\/+$/, '');
}

export function validateRepoId(repoId: string): void {
  if (!repoIdPattern.test(repoId) || repoId.includes('..') || repoId.includes('--') || repoId.length > 96) {
    throw new ModelStoreError(
      'bad-input',
      `"${repoId}" is neither a model folder on this machine nor a Hugging Face repository id like "org/name".`,
    );
  }
}

/**
 * Refuses a repository file name that could land outside the snapshot folder once joined to it:
 * `..` segments, absolute POSIX or Windows paths, drive letters, UNC paths and backslashes (which
 * Windows treats as separators). The names come from the server, so they are untrusted.
 */
export function unsafePathReason(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.includes('\0')) return 'it contains a NUL character';
  if (name.includes('\\')) return 'it contains a backslash';
  if (posix.isAbsolute(name) || win32.isAbsolute(name) || /^[A-Za-z]:/.test(name)) return 'it is an absolute path';
  const segments = name.split('/');
  if (segments.some((s) => s === '..')) return 'it climbs out of the model folder with ".."';
  if (segments.some((s) => s === '' || s === '.')) return 'it has an empty or "." path segment';
  return undefined;
}

export function assertSafeRepoPath(name: string, what: string): void {
  const reason = unsafePathReason(name);
  if (reason) {
    throw new ModelStoreError(
      'unsafe-path',
      `Refusing ${what} "${name}": ${reason}. The server may be misconfigured or malicious; nothing was written for it.`,
    );
  }
}

/** Blob names come from ETags; only plain hash-like names may become file names. */
export function assertSafeBlobName(etag: string, file: string): void {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(etag) || etag.startsWith('.')) {
    throw new ModelStoreError('unsafe-path', `Refusing the ETag "${etag}" the server sent for ${file}: it is not a plain hash.`);
  }
}

/** Folder and file locations of one repository inside the hub cache (huggingface_hub's layout). */
export class RepoCachePaths {
  readonly repoDir: string;
  readonly blobsDir: string;
  readonly snapshotsDir: string;
  readonly refsDir: string;
  readonly locksDir: string;

  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    const folder = ['models', ...repoId.split('/')].join('--');
    this.repoDir = join(cacheDir, folder);
    this.blobsDir = join(this.repoDir, 'blobs');
    this.snapshotsDir = join(this.repoDir, 'snapshots');
    this.refsDir = join(this.repoDir, 'refs');
    this.locksDir = join(cacheDir, '.locks', folder);
  }

  blob(etag: string): string {
    return join(this.blobsDir, etag);
  }

  snapshot(commit: string): string {
    return join(this.snapshotsDir, commit);
  }

  snapshotFile(commit: string, file: string): string {
    return join(this.snapshotsDir, commit, ...file.split('/'));
  }

  ref(revision: string): string {
    return join(this.refsDir, ...revision.split('/'));
  }

  lock(etag: string): string {
    // Our own name: huggingface_hub flocks `<etag>.lock` and leaves it behind, which an
    // exclusive-create lock would mistake for a live holder.
    return join(this.locksDir, `${etag}.letterpress.lock`);
  }
}
