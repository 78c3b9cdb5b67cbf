import { link, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import { tempName, writeNewFile } from '../files/newFiles.ts';
import { readRegularTextFile } from '../files/readRegularFile.ts';
import { isCommitHash, type RepoCachePaths } from './hubPaths.ts';
import { findMissingModelFiles } from './requiredModelFiles.ts';

/** A random name beside `path` for a link made exclusively (symlink and link never replace). */
function tempSibling(path: string): string {
  return tempName(dirname(path), basename(path));
}

const maxRefBytes = 1024;

/** The commit a branch or tag pointed to when it was last downloaded (huggingface_hub's refs/). */
export async function readRef(paths: RepoCachePaths, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  // A ref holds one commit id: anything larger, or a link, was not written by a download.
  const text = await readRegularTextFile(paths.ref(revision), maxRefBytes, 'ref', { noFollow: true }).catch(() => undefined);
  const commit = text?.trim();
  return commit && isCommitHash(commit) ? commit : undefined;
}

export async function writeRef(paths: RepoCachePaths, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  if ((await readRef(paths, revision)) === commit) return;
  const refPath = paths.ref(revision);
  await mkdir(dirname(refPath), { recursive: true });
  // No trailing newline: huggingface_hub reads the file verbatim as the commit hash.
  await writeNewFile(refPath, Buffer.from(commit), { overwrite: true });
}

/**
 * The commit whose snapshot holds every file the pipeline needs, for a revision already resolved
 * once (by us, diffusers or any huggingface_hub tool), or undefined.
 */
export async function findCompleteSnapshot(paths: RepoCachePaths, revision: string): Promise<string | undefined> {
  const commit = await readRef(paths, revision);
  if (!commit) return undefined;
  const missing = await findMissingModelFiles(paths.snapshot(commit));
  return missing.length === 0 ? commit : undefined;
}

export interface LinkOperations {
  symlink: (target: string, path: string) => Promise<void>;
  link: (existing: string, path: string) => Promise<void>;
}

const realLinks: LinkOperations = { symlink: (target, path) => symlink(target, path), link: (existing, path) => link(existing, path) };

function linkRefused(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPERM' || code === 'EACCES' || code === 'ENOTSUP' || code === 'EINVAL' || code === 'EXDEV' || code === 'ENOSYS';
}

/**
 * Points snapshots/<commit>/<file> at its blob with a relative symlink, as huggingface_hub does (the
 * cache stays valid when moved). Where symlinks are not allowed (Windows without developer mode)
 * a hard link keeps a single copy of the bytes on disk, and only where that fails too (FAT) is the
 * blob copied. The entry is made under a temporary name and renamed over the final one, so a
 * concurrent process never sees a missing or half-made entry.
 */
export async function linkBlobIntoSnapshot(
  blobPath: string,
  snapshotFile: string,
  operations: Partial<LinkOperations> = {},
): Promise<'symlink' | 'hardlink' | 'copy'> {
  const ops = { ...realLinks, ...operations };
  await mkdir(dirname(snapshotFile), { recursive: true });
  const temp = tempSibling(snapshotFile);
  const attempts: ['symlink' | 'hardlink', () => Promise<void>][] = [
    ['symlink', () => ops.symlink(relative(dirname(snapshotFile), blobPath), temp)],
    ['hardlink', () => ops.link(blobPath, temp)],
  ];
  for (const [kind, make] of attempts) {
    try {
      await make();
      await rename(temp, snapshotFile);
      return kind;
    } catch (error) {
      await rm(temp, { force: true });
      if (!linkRefused(error)) throw error;
    }
  }
  await writeNewFile(snapshotFile, { copyOf: blobPath }, { overwrite: true });
  return 'copy';
}
