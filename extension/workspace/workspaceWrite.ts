// Moves a finished file into a workspace folder atomically and without ever replacing an existing
// file: copy next to the destination under a hidden temporary name, then hard-link it to the first
// free name (a link fails instead of overwriting), then drop the temporary.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { candidateFileNames } from './outputFileName.ts';

const maxAttempts = 10_000;

/** Copies `source` into `folder` as `<baseName>.png` (or `-2`, `-3`…) and returns the new path. */
export async function placeFileInFolder(source: string, folder: string, baseName: string, extension = '.png'): Promise<string> {
  await mkdir(folder, { recursive: true });
  const temp = join(folder, `.${baseName}.${randomBytes(6).toString('hex')}.tmp`);
  await copyFile(source, temp, constants.COPYFILE_EXCL);
  try {
    let attempts = 0;
    for (const name of candidateFileNames(baseName, extension)) {
      if (++attempts > maxAttempts) throw new Error(`no free file name for ${baseName}${extension} in ${folder}`);
      const destination = join(folder, name);
      try {
        await link(temp, destination);
        return destination;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'ENOSYS') throw error;
        // No hard links here (FAT, some network drives): reserve the name exclusively, then replace
        // only our own empty placeholder.
        if (await reserve(destination)) {
          await rename(temp, destination);
          return destination;
        }
      }
    }
    throw new Error('unreachable');
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function reserve(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
