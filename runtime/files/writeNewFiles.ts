// Writing export results without ever replacing a user's file or leaving half a file behind: every
// name is checked first, each file is written under a temporary name and then hard-linked to its
// real name (which fails rather than replaces when the name exists), and the temporary name removed.
import { randomBytes } from 'node:crypto';
import { link, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathExists } from './pathExists.ts';

export class FileExistsError extends Error {
  constructor(readonly paths: string[]) {
    super(`${paths.length === 1 ? 'file already exists' : 'files already exist'}: ${paths.join(', ')}`);
    this.name = 'FileExistsError';
  }
}


async function placeNew(temp: string, path: string): Promise<void> {
  try {
    await link(temp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new FileExistsError([path]);
    // Some file systems (FAT, some network shares) have no hard links: check, then rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') throw error;
    if (await pathExists(path)) throw new FileExistsError([path]);
    await rename(temp, path);
    return;
  }
  await unlink(temp);
}

/** Writes every file or none: refuses up front when any name is taken. Returns the paths written. */
export async function writeNewFiles(files: ReadonlyArray<{ path: string; data: Buffer }>): Promise<string[]> {
  const taken: string[] = [];
  for (const file of files) if (await pathExists(file.path)) taken.push(file.path);
  if (taken.length > 0) throw new FileExistsError(taken);
  const written: string[] = [];
  for (const file of files) {
    await mkdir(dirname(file.path), { recursive: true });
    const temp = join(dirname(file.path), `.${basename(file.path)}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(temp, file.data, { flag: 'wx' });
    try {
      await placeNew(temp, file.path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    written.push(file.path);
  }
  return written;
}
