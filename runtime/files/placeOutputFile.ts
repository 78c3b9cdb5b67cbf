// Output files of the CLI commands: written beside their final name, then moved into place.
import { link, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError } from '../cli/cliError.ts';

export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A hidden temporary name in the same folder, so the final rename or link stays on one file system. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

/** Moves a finished temporary file into place; without `force` an existing file is never replaced, even one that appeared meanwhile. */
export async function placeFile(temp: string, path: string, force: boolean): Promise<void> {
  try {
    if (force) await rename(temp, path);
    else await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${path} already exists; use --force to overwrite it`);
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}
