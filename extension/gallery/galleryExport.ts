// Export from the gallery: the presets offered, and writing one export into a folder of its own under
// `<output folder>/exports/`. A folder whose names are taken is never written into: the next free
// `<stem>-2`, `<stem>-3`… is used instead. Free of `vscode`; sharp is loaded only when exporting, so
// a native module that fails to load cannot stop the extension from activating.
import { basename, extname, join } from 'node:path';
import type { ExportOutcome, ExportPresetName } from '../../runtime/export/exportPresets.ts';
import { candidateNames, FileExistsError } from '../../runtime/files/newFiles.ts';
import { exportsFolderName } from './galleryIndex.ts';

export interface ExportChoice {
  label: string;
  detail: string;
  preset: ExportPresetName;
  transparent?: boolean;
}

export const exportChoices: readonly ExportChoice[] = [
  { label: 'Icon set + favicon.ico', detail: 'Square PNGs 16–512 px and a favicon.ico with the sizes up to 256', preset: 'icons' },
  {
    label: 'Icon set, transparent background',
    detail: 'The same, with a flat background made transparent (flood fill from the corners)',
    preset: 'icons',
    transparent: true,
  },
  { label: 'Social banners (1200×630, 1500×500, 728×90)', detail: 'Crops around the most interesting part of the image', preset: 'banners' },
  { label: 'Transparent PNG', detail: 'The image with its flat background removed', preset: 'transparent' },
];

/** Tries `<stem>`, `<stem>-2`, … up to this many folders before giving up. */
export const maxExportFolders = 100;

export interface GalleryExportRequest {
  /** The image to export (absolute path). */
  input: string;
  /** `<output folder>/exports` (absolute); the export gets a folder of its own inside. */
  exportsFolder: string;
  choice: ExportChoice;
  /**
   * Checks a folder before anything is written into it (that it stays inside the workspace, also
   * through symbolic links) and returns it; throws when it does not.
   */
  confine?: (folder: string) => Promise<string>;
}

export interface GalleryExportResult extends ExportOutcome {
  folder: string;
}

/**
 * An image the export cannot use (unreadable, no flat background to remove): the user's to fix.
 * Told by name because exportPresets.ts, which defines it, loads sharp when imported.
 */
export function isExportInputError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ExportInputError';
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

export async function exportFromGallery(request: GalleryExportRequest): Promise<GalleryExportResult> {
  const { runExport } = await import('../../runtime/export/exportPresets.ts');
  const stem = exportStem(request.input);
  let tried = 0;
  for (const name of candidateNames(stem)) {
    if (++tried > maxExportFolders) break;
    let folder = join(request.exportsFolder, name);
    if (request.confine) folder = await request.confine(folder);
    try {
      const outcome = await runExport({ preset: request.choice.preset, input: request.input, outDir: folder, transparent: request.choice.transparent });
      return { ...outcome, folder };
    } catch (error) {
      // writeNewFiles checks every name before writing any, so nothing was written here.
      if (!(error instanceof FileExistsError)) throw error;
    }
  }
  throw new FileExistsError([join(request.exportsFolder, `${stem}-${maxExportFolders}`)]);
}
