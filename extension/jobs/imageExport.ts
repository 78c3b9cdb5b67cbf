// An export from the user's side (the Export Image… command and the gallery's Export action): the
// host decides where the files may go — a folder of their own under `<output folder>/exports/`,
// confined to the workspace also through symbolic links — and the runtime makes and writes them
// (runtime/image/export): the host loads no image library. Free of `vscode`, so the integration
// tests run it against the real runtime process.
import { randomUUID } from 'node:crypto';
import { basename, extname, join, relative } from 'node:path';
import type { ExportChoice } from '../../runtime/protocol/exportPresets.ts';
import type { ProgressEvent } from '../../runtime/protocol/generationTypes.ts';
import { exportImageRequest, jobProgressNotification, type ExportImageResult } from '../../runtime/protocol/runtimeProtocol.ts';
import { exportsFolderName } from '../gallery/galleryIndex.ts';
import type { RuntimeSupervisor } from '../runtime/runtimeSupervisor.ts';
import { confineOutputFolder } from '../workspace/workspacePaths.ts';

export interface ImageExportRequest {
  /** The image to export (absolute path). */
  input: string;
  workspaceRoot: string;
  /** The output folder (absolute, inside the workspace); the export goes to `exports/<image>/` in it. */
  outputFolder: string;
  choice: ExportChoice;
}

/** The folder name an image's exports go in: its file name without the extension. */
export function exportStem(imagePath: string): string {
  const stem = basename(imagePath, extname(imagePath)).trim();
  // Hidden or empty names would land in (or beside) exports/ itself.
  return stem === '' || stem.startsWith('.') ? 'image' : stem;
}

export function exportsFolderOf(outputFolder: string): string {
  return join(outputFolder, exportsFolderName);
}

/**
 * Exports one image: `exports/` is checked against the workspace (OutputPathError when it leads
 * outside), then the runtime writes into the first free `<stem>`, `<stem>-2`… folder in it. Rejects
 * with the runtime's typed errors (`userError` for an image it cannot use, `cancelled`).
 */
export async function exportImage(
  supervisor: RuntimeSupervisor,
  request: ImageExportRequest,
  options: { signal?: AbortSignal; onProgress?: (event: ProgressEvent) => void } = {},
): Promise<ExportImageResult> {
  const root = request.workspaceRoot;
  const exportsFolder = exportsFolderOf(request.outputFolder);
  const { realPath } = await confineOutputFolder(root, relative(root, exportsFolder));
  const jobId = randomUUID();
  const progress = options.onProgress
    ? supervisor.onNotification(jobProgressNotification, (params) => {
        if (params.jobId === jobId) options.onProgress!(params.event);
      })
    : undefined;
  // The runtime answers with the real paths it wrote; the user knows the workspace's own names.
  const asNamed = (path: string) => join(exportsFolder, relative(realPath, path));
  try {
    const result = await supervisor.request(
      exportImageRequest,
      {
        jobId,
        preset: request.choice.preset,
        input: request.input,
        outputDir: realPath,
        newFolder: exportStem(request.input),
        ...(request.choice.transparent ? { transparent: true } : {}),
        ...(request.choice.colours !== undefined ? { colours: request.choice.colours } : {}),
      },
      { signal: options.signal },
    );
    return { ...result, folder: asNamed(result.folder), files: result.files.map((file) => ({ ...file, path: asNamed(file.path) })) };
  } finally {
    progress?.dispose();
  }
}
