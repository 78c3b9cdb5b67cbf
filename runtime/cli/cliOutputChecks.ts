// Where the CLI will write, checked before any work (no model load, no generation): the folder
// exists and is a folder we can write into, the name is not a folder, not a link to nothing, and
// not an existing file unless --force. The write itself (cliOutputFile.ts) checks again, atomically.
import { constants } from 'node:fs';
import { access, lstat, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CliError } from './cliError.ts';

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Throws a one-line CliError naming `flag` when `path` cannot receive a new file. */
export async function checkCliOutput(flag: string, path: string, force: boolean): Promise<void> {
  const absolute = resolve(path);
  const folder = dirname(absolute);
  try {
    const info = await stat(folder);
    if (!info.isDirectory()) throw new CliError(`${flag} ${path}: ${folder} is not a folder`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`${flag} ${path}: the folder ${folder} does not exist; create it first`);
    throw new CliError(`${flag} ${path}: cannot use the folder ${folder} (${code ?? (error as Error).message})`);
  }
  try {
    await access(folder, constants.W_OK);
  } catch {
    throw new CliError(`${flag} ${path}: cannot write into ${folder} (permission denied)`);
  }
  let entry;
  try {
    entry = await lstat(absolute);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw new CliError(`${flag} ${path}: cannot check it (${errorCode(error) ?? (error as Error).message})`);
  }
  if (entry.isDirectory()) throw new CliError(`${flag} ${path} is a folder: name a file in it`);
  if (entry.isSymbolicLink()) {
    const target = await stat(absolute).catch(() => undefined);
    if (!target) throw new CliError(`${flag} ${path} is a link to nothing (dangling): remove it or choose another name`);
    if (target.isDirectory()) throw new CliError(`${flag} ${path} is a link to a folder: name a file`);
  }
  if (!force) throw new CliError(`${path} already exists; use --force to overwrite it`);
}

export async function checkCliOutputs(outputs: ReadonlyArray<{ flag: string; path: string }>, force: boolean): Promise<void> {
  for (const { flag, path } of outputs) await checkCliOutput(flag, path, force);
}
