// Every file Letterpress writes goes through here, host and runtime alike (pure Node fs, no vscode).
// The rules, and why:
// - The bytes go first into a temporary file in the destination folder (so the final step stays on
//   one file system), named `.<name>.<random>.tmp` with 16 random bytes: nobody can guess it ahead
//   of us, so nobody can plant a link there and wait.
// - That file is created exclusively (O_CREAT|O_EXCL, plus O_NOFOLLOW where the OS has it): if
//   anything already sits at the name (a planted link included) the open fails instead of writing
//   through it, and another name is drawn.
// - It is then placed atomically: hard-linked to the final name, which fails rather than replaces
//   when that name is taken (a dangling link counts as taken), or renamed over it when the caller
//   asked to overwrite (`--force`); a rename replaces a link at the final name, never its target.
// - The temporary name is removed whatever happens, so nothing is left behind after success or
//   failure.
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export class FileExistsError extends Error {
  constructor(readonly paths: string[]) {
    super(`${paths.length === 1 ? 'file already exists' : 'files already exist'}: ${paths.join(', ')}`);
    this.name = 'FileExistsError';
  }
}

/**
 * Whether anything is at `path`: a file, a folder, or a link (even a dangling one, which would still
 * block a new file of that name). Never throws.
 */
export async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** What a new file holds: bytes, a copy of another file, or whatever a writer puts through the open handle. */
export type NewFileContent = Uint8Array | { copyOf: string } | ((handle: FileHandle) => Promise<void>);

export interface TempFileOptions {
  /** The random part of the name; tests replace it to aim at a planted link. */
  randomSuffix?: () => string;
}

// O_NOFOLLOW is missing on Windows; O_EXCL alone already refuses an existing link there and here.
const exclusiveCreate = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0);
const maxTempAttempts = 16;
const maxHintLength = 64;

/** 128 random bits in hex: the part of a temporary name nobody can predict. */
export function randomName(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Opens a new, empty temporary file in `folder` exclusively, under a name nobody can predict; the
 * caller writes it, closes it and removes the name. `hint` (usually the final file's name) only makes
 * the name readable.
 */
export async function createTempFile(folder: string, hint: string, options: TempFileOptions = {}): Promise<{ path: string; handle: FileHandle }> {
  const suffix = options.randomSuffix ?? randomName;
  const stem = hint.replace(/^\.+/, '').slice(0, maxHintLength) || 'file';
  for (let attempt = 1; ; attempt++) {
    const path = join(folder, `.${stem}.${suffix()}.tmp`);
    try {
      return { path, handle: await open(path, exclusiveCreate, 0o666) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Something is already there (a planted link, or O_NOFOLLOW meeting one): never write through it, draw again.
      if ((code !== 'EEXIST' && code !== 'ELOOP') || attempt >= maxTempAttempts) throw error;
    }
  }
}

async function fill(handle: FileHandle, content: NewFileContent): Promise<void> {
  if (typeof content === 'function') await content(handle);
  else if (content instanceof Uint8Array) await handle.writeFile(content);
  else await copyInto(handle, content.copyOf);
}

async function copyInto(handle: FileHandle, source: string): Promise<void> {
  const input = await open(source, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      await handle.write(buffer, 0, bytesRead);
    }
  } finally {
    await input.close();
  }
}

/** A finished temporary file, written and closed; `place` puts it at a final name. */
async function withTempFile<T>(folder: string, hint: string, content: NewFileContent, options: TempFileOptions, use: (temp: string) => Promise<T>): Promise<T> {
  const { path: temp, handle } = await createTempFile(folder, hint, options);
  try {
    try {
      await fill(handle, content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return await use(temp);
  } finally {
    // After a rename the name is free again: ENOENT. Anything else there now is not ours either,
    // but only we know the name, so that cannot happen short of a guessed 128-bit suffix.
    await unlink(temp).catch(() => undefined);
  }
}

function noHardLinks(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'ENOSYS';
}

/**
 * Gives the finished `temp` the name `path` without replacing anything there; false when the name
 * is taken. Where there are no hard links (FAT, some network shares) the name is first reserved by
 * an exclusive create, and only that empty placeholder of ours is replaced.
 */
async function linkNew(temp: string, path: string): Promise<boolean> {
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    if (!noHardLinks(error)) throw error;
  }
  try {
    await (await open(path, exclusiveCreate, 0o666)).close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ELOOP') return false;
    throw error;
  }
  await rename(temp, path);
  return true;
}

/**
 * Writes `path` through a temporary file. Without `overwrite` an existing file (or link) at `path`
 * is never replaced, even one that appeared meanwhile: FileExistsError. With it, the new file takes
 * the name atomically (a link there is replaced, not followed). The folder must exist.
 */
export async function writeNewFile(path: string, content: NewFileContent, options: TempFileOptions & { overwrite?: boolean } = {}): Promise<void> {
  await withTempFile(dirname(path), basename(path), content, options, async (temp) => {
    if (options.overwrite) await rename(temp, path);
    else if (!(await linkNew(temp, path))) throw new FileExistsError([path]);
  });
}

/** `name.png`, then `name-2.png`, `name-3.png`… (`extension` may be empty, for folders). */
export function* candidateNames(baseName: string, extension = ''): Generator<string> {
  yield `${baseName}${extension}`;
  for (let n = 2; ; n++) yield `${baseName}-${n}${extension}`;
}

const maxFreeNameAttempts = 10_000;

/**
 * Writes a new file into `folder` (made if missing) under the first free name of
 * `<baseName><extension>`, `<baseName>-2<extension>`…, and returns its path. Nothing is replaced.
 */
export async function writeAtFreeName(folder: string, baseName: string, extension: string, content: NewFileContent, options: TempFileOptions = {}): Promise<string> {
  await mkdir(folder, { recursive: true });
  return withTempFile(folder, `${baseName}${extension}`, content, options, async (temp) => {
    let attempts = 0;
    for (const name of candidateNames(baseName, extension)) {
      if (++attempts > maxFreeNameAttempts) throw new FileExistsError([join(folder, name)]);
      const path = join(folder, name);
      if (await linkNew(temp, path)) return path;
    }
    throw new Error('unreachable');
  });
}

/**
 * Writes every file or none of them when a name is already taken (checked for all before any is
 * written); folders are made as needed. Returns the paths written.
 */
export async function writeNewFiles(files: ReadonlyArray<{ path: string; data: Uint8Array }>): Promise<string[]> {
  const taken: string[] = [];
  for (const file of files) if (await pathExists(file.path)) taken.push(file.path);
  if (taken.length > 0) throw new FileExistsError(taken);
  const written: string[] = [];
  for (const file of files) {
    await mkdir(dirname(file.path), { recursive: true });
    await writeNewFile(file.path, file.data);
    written.push(file.path);
  }
  return written;
}

/**
 * A fresh, unpredictable name in `folder` for a temporary entry that the caller creates exclusively
 * itself: mkdir (not recursive), symlink and link all fail rather than reuse an existing entry.
 */
export function tempName(folder: string, hint: string): string {
  return join(folder, `.${hint.replace(/^\.+/, '').slice(0, maxHintLength) || 'file'}.${randomName()}.tmp`);
}

/** A file kept under a fixed name (a resumable partial download) that is not a plain file of ours. */
export class NotRegularFileError extends Error {
  constructor(readonly path: string, what: string) {
    super(`${path} is ${what}; Letterpress does not write through it. Delete it and try again.`);
    this.name = 'NotRegularFileError';
  }
}

function describeEntry(info: Stats): string {
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isDirectory()) return 'a folder';
  if (!info.isFile()) return 'not a regular file';
  return 'a file with other hard links';
}

/**
 * What is at a kept file's fixed name: its size, 0 when nothing is there. Throws
 * NotRegularFileError for a link (never followed), a folder, a device or a file with other hard
 * links (writing it would change another file too).
 */
export async function keptFileSize(path: string): Promise<number> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) return 0;
  if (!info.isFile() || info.nlink > 1) throw new NotRegularFileError(path, describeEntry(info));
  return info.size;
}

/**
 * Opens a kept file (made if missing) to append to it or to start it over empty, never through a
 * link (O_NOFOLLOW, and the open file checked again: a regular file with no other hard links).
 */
export async function openKeptFile(path: string, mode: 'append' | 'truncate'): Promise<FileHandle> {
  const flags = constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0) | (mode === 'append' ? constants.O_APPEND : constants.O_TRUNC);
  let handle: FileHandle;
  try {
    // Checked first too: O_NOFOLLOW does not exist everywhere (Windows).
    await keptFileSize(path);
    handle = await open(path, flags, 0o666);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new NotRegularFileError(path, 'a symbolic link');
    throw error;
  }
  const info = await handle.stat().catch(async (error: unknown) => {
    await handle.close();
    throw error;
  });
  if (!info.isFile() || info.nlink > 1) {
    await handle.close();
    throw new NotRegularFileError(path, describeEntry(info));
  }
  return handle;
}
