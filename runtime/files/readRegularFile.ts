// Reading a file someone else may have planted: only a regular file, and only up to a size. A FIFO
// or a device named where a config, a vocabulary or an image is expected would otherwise block the
// read forever (or stream without end), and a huge file would be read whole into memory.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** A model's JSON config (config.json, scheduler_config.json, …): a few kilobytes in practice. */
export const maxConfigFileBytes = 1 << 20;
/** A tokenizer's vocabulary or merges (CLIP's vocab.json is 1.6 MB, tokenizer.json 3.6 MB). */
export const maxTokenizerFileBytes = 32 << 20;

export type FileReadProblem = 'missing' | 'notRegular' | 'tooLarge' | 'unreadable';

export class FileReadError extends Error {
  constructor(
    message: string,
    readonly problem: FileReadProblem,
    readonly path: string,
  ) {
    super(message);
    this.name = 'FileReadError';
  }
}

function sizeText(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${Math.round(bytes / (1 << 10))} KiB`;
  return `${bytes} bytes`;
}

/**
 * Flags to open a file for reading without waiting: opening a FIFO with no writer would otherwise
 * block forever (O_NONBLOCK is absent on Windows, which has no FIFOs in the file system). Callers
 * still check that what they opened is a regular file.
 */
export const readOnlyNoWait = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

export interface ReadOptions {
  /**
   * Refuse a symbolic link instead of following it (O_NOFOLLOW), for files this program wrote itself
   * in a shared cache: a link there was planted.
   */
  noFollow?: boolean;
}

/**
 * Opens `path` for reading only if it is a regular file (links to one are followed; a FIFO is opened
 * without blocking and refused). The caller closes the handle.
 */
export async function openRegularFile(path: string, what = 'file', options: ReadOptions = {}): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, options.noFollow ? readOnlyNoWait | (constants.O_NOFOLLOW ?? 0) : readOnlyNoWait);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' && options.noFollow) throw new FileReadError(`${what} ${path} is a symbolic link, not a file`, 'notRegular', path);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileReadError(`${what} ${path} does not exist`, 'missing', path);
    if (code === 'EISDIR') throw new FileReadError(`${what} ${path} is a folder, not a file`, 'notRegular', path);
    if (code === 'ENXIO') throw new FileReadError(`${what} ${path} is not a regular file`, 'notRegular', path);
    throw new FileReadError(`cannot read ${what} ${path} (${code ?? (error as Error).message})`, 'unreadable', path);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new FileReadError(`${what} ${path} is a folder, not a file`, 'notRegular', path);
    if (!info.isFile()) throw new FileReadError(`${what} ${path} is not a regular file (a pipe, socket or device)`, 'notRegular', path);
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * The whole content of a regular file of at most `maxBytes`. Refuses (FileReadError, message naming
 * the file) anything else, and stops reading at the bound if the file grows while it is read.
 */
export async function readRegularFile(path: string, maxBytes: number, what = 'file', options: ReadOptions = {}): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, what, options);
  try {
    if (size > maxBytes) {
      throw new FileReadError(`${what} ${path} is ${sizeText(size)}, more than the ${sizeText(maxBytes)} allowed`, 'tooLarge', path);
    }
    // One byte more than allowed tells a file that grew past the bound from one that did not.
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, size + 1));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > maxBytes) throw new FileReadError(`${what} ${path} is more than the ${sizeText(maxBytes)} allowed`, 'tooLarge', path);
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** readRegularFile as UTF-8 text. */
export async function readRegularTextFile(path: string, maxBytes: number, what = 'file', options: ReadOptions = {}): Promise<string> {
  return (await readRegularFile(path, maxBytes, what, options)).toString('utf8');
}
