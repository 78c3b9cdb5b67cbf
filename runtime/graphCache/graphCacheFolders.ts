// Where Letterpress keeps the ONNX graphs it converts: its own cache folder, never the model's
// folder (a Hugging Face snapshot must hold only the repository's files, or huggingface_hub's
// scan_cache_dir counts ours as model files). Layout:
//
//   <cache>/graphs/<source id>/<component>-<fp32|fp16>-<key>/{model.onnx, weights.safetensors, record.json}
//
// where the source id names the model: `<org>--<name>@<commit>` for a hub snapshot (the commit is
// the snapshot's identity, wherever the hub cache lives), `folder-<name>-<hash of its real path>`
// for a local folder. Nothing here follows a symbolic link: every folder below the cache's own
// root is checked with lstat, and one that is a link (or not a folder) is moved aside and made anew.
import { createHash } from 'node:crypto';
import { lstat, mkdir, realpath, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { randomName } from '../files/newFiles.ts';

/** The cache folder: LETTERPRESS_CACHE, else the OS's cache folder (`~/.cache/letterpress` on Linux). */
export function letterpressCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.LETTERPRESS_CACHE;
  if (explicit) return resolve(explicit === '~' || explicit.startsWith('~/') ? join(homedir(), explicit.slice(1)) : explicit);
  if (process.platform === 'win32') return join(env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local'), 'letterpress', 'Cache');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'letterpress');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'letterpress');
}

export const graphsFolderName = 'graphs';

export interface ModelSource {
  /** Folder name under `graphs/`. */
  id: string;
  kind: 'hub' | 'folder';
  /** Repo id for a hub snapshot, the folder's real path otherwise. */
  model: string;
  /** The snapshot's commit. */
  revision?: string;
  /** The model folder as given. */
  modelDir: string;
}

const commitPattern = /^[0-9a-f]{40}$/;

/** A hub snapshot is `<hub cache>/models--<org>--<name>/snapshots/<commit>` (huggingface_hub's layout). */
export async function describeModelSource(modelDir: string): Promise<ModelSource> {
  const real = await realpath(modelDir);
  const commit = basename(real);
  const snapshots = dirname(real);
  const repo = basename(dirname(snapshots));
  const parts = /^models--([^-].*?)--([^-].*)$/.exec(repo);
  if (commitPattern.test(commit) && basename(snapshots) === 'snapshots' && parts) {
    return { id: `${parts[1]}--${parts[2]}@${commit}`, kind: 'hub', model: `${parts[1]}/${parts[2]}`, revision: commit, modelDir };
  }
  const name = basename(real).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40) || 'model';
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 12);
  return { id: `folder-${name}-${hash}`, kind: 'folder', model: real, modelDir };
}

/** True when `child` is `parent` or inside it (both real paths). */
export function isInside(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/** Prefix of entries moved aside because they were not ours to use; `letterpress cache ls` shows them. */
export const setAsidePrefix = '.set-aside-';

/**
 * Moves an entry that is in the way (a link, a file, a folder we cannot trust) to a hidden name
 * beside it: it is neither used nor deleted (it may not be ours), and the user can remove it with
 * `letterpress cache prune --set-aside`. A rename moves a link itself, never what it points to.
 */
export async function setAside(path: string): Promise<string> {
  const aside = join(dirname(path), `${setAsidePrefix}${basename(path)}-${randomName().slice(0, 12)}`);
  await rename(path, aside);
  return aside;
}

/**
 * `parent/name` as a real folder of our own: made when missing, and when something else has the
 * name (a symbolic link, a file), that is set aside and the folder made. `parent` must already be
 * checked. Never recursive, so nothing is created through a link.
 */
export async function realFolder(parent: string, name: string): Promise<string> {
  const path = join(parent, name);
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = await lstat(path).catch(() => null);
    if (info?.isDirectory()) return path;
    if (info) await setAside(path);
    try {
      await mkdir(path);
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Made by another process between the check and mkdir: look again.
    }
  }
  throw new Error(`could not make the cache folder ${path}`);
}

/** `<cache>/graphs` as a real path (the cache folder itself may be a link the user made), created when missing. */
export async function graphsRoot(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const cacheDir = letterpressCacheDir(env);
  await mkdir(cacheDir, { recursive: true });
  return realFolder(await realpath(cacheDir), graphsFolderName);
}
