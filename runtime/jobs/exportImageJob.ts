// One `runtime/image/export` request (and `letterpress export`): an export preset of an image on disk,
// made in memory first (a bad image fails before any folder is made), then written into the folder
// the caller named — only when the folder found there is that very folder, no symbolic link on the
// way — through runtime/files/newFiles.ts, never replacing a file.
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ExportInputError, readExportImage, renderExport } from '../export/exportRenderers.ts';
import type { ExportFile } from '../export/iconSet.ts';
import { candidateNames, FileExistsError, writeNewFiles } from '../files/newFiles.ts';
import { realPathAllowingMissing } from '../files/realPaths.ts';
import type { ProgressListener } from '../protocol/generationTypes.ts';
import { limits } from '../protocol/limits.ts';
import { RuntimeError, type ExportImageParams, type ExportImageResult } from '../protocol/runtimeProtocol.ts';

export interface ExportJobHooks {
  signal: AbortSignal;
  onProgress: ProgressListener;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * Makes `folder` when missing and checks that it is the folder it names: its real path is itself
 * (no link on the way, none swapped in since the caller resolved it). Else a user error; nothing written.
 */
async function givenFolder(folder: string): Promise<void> {
  // Before making anything (a missing folder is made through whatever link is on the way), then after.
  sameFolder(folder, await realPathAllowingMissing(folder));
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new RuntimeError('userError', `cannot export into ${folder}: a file is in the way`);
    throw new RuntimeError('userError', `cannot make the folder ${folder} (${code ?? (error as Error).message})`);
  }
  sameFolder(folder, await realpath(folder));
}

function sameFolder(folder: string, real: string): void {
  if (real !== folder) {
    throw new RuntimeError('userError', `${folder} leads to ${real} (a symbolic link on the way); nothing was written there`);
  }
}

/** A new folder's name is usable when nothing is there yet, or a plain folder (not a link) whose real path is itself. */
async function usableSubfolder(folder: string): Promise<boolean> {
  try {
    const entry = await lstat(folder);
    if (!entry.isDirectory()) return false;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    try {
      await mkdir(folder);
    } catch (made) {
      // Made by someone else meanwhile: judged like any existing entry, on the next look.
      if (errorCode(made) !== 'EEXIST') throw made;
      return usableSubfolder(folder);
    }
  }
  return (await realpath(folder)) === folder;
}

async function writeInto(folder: string, files: readonly ExportFile[]): Promise<string[]> {
  return writeNewFiles(files.map((file) => ({ path: join(folder, file.name), data: file.data })));
}

export async function runExportImageJob(params: ExportImageParams, hooks: ExportJobHooks): Promise<ExportImageResult> {
  // The params passed exportImageRequest's validator (the server's, or the CLI's call of it).
  const { signal, onProgress } = hooks;
  const name = basename(params.input);
  const say = (text: string) => onProgress({ status: 'message', level: 'info', text });
  signal.throwIfAborted();
  let rendered;
  try {
    say(`Reading ${name}…`);
    const image = await readExportImage(params.input);
    signal.throwIfAborted();
    say('Making the files…');
    rendered = await renderExport(params.preset, image, {
      input: params.input,
      crop: params.crop,
      transparent: params.transparent,
      tolerance: params.tolerance,
      colours: params.colours,
    });
  } catch (error) {
    if (error instanceof ExportInputError) throw new RuntimeError('userError', error.message);
    throw error;
  }
  // The last point to stop: from here on files appear.
  signal.throwIfAborted();
  say(`Writing ${rendered.files.length} ${rendered.files.length === 1 ? 'file' : 'files'}…`);
  await givenFolder(params.outputDir);

  let folder: string | undefined;
  let written: string[] | undefined;
  if (params.newFolder === undefined) {
    folder = params.outputDir;
    try {
      written = await writeInto(folder, rendered.files);
    } catch (error) {
      // writeNewFiles checks every name before it writes any.
      if (error instanceof FileExistsError) throw new RuntimeError('userError', `${error.message}; nothing was written`);
      throw error;
    }
  } else {
    let tried = 0;
    for (const candidate of candidateNames(params.newFolder)) {
      if (++tried > limits.exportFolders) break;
      const path = join(params.outputDir, candidate);
      if (!(await usableSubfolder(path))) continue;
      try {
        written = await writeInto(path, rendered.files);
        folder = path;
        break;
      } catch (error) {
        if (!(error instanceof FileExistsError)) throw error;
      }
    }
    if (!folder || !written) {
      throw new RuntimeError(
        'userError',
        `${join(params.outputDir, params.newFolder)} and the next ${limits.exportFolders - 1} folder names are all taken; nothing was written`,
      );
    }
  }
  onProgress({ status: 'done' });
  return {
    folder,
    files: written.map((path, i) => ({ path, width: rendered.files[i]!.width, height: rendered.files[i]!.height })),
    notes: rendered.notes,
  };
}
