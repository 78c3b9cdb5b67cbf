// The images of the workspace's output folder with the settings read from each PNG's `parameters`
// chunk, so images from the commands, the CLI or other SD tools all show up. A file is read again
// only when its mtime or size changed. Free of `vscode`.
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parseGenerationParameters } from '../../runtime/png/generationParameters.ts';
import type { SchedulerName } from '../../runtime/protocol/generationTypes.ts';
import { letterpressChunkKey } from '../../runtime/png/letterpressRecord.ts';
import { parseStartImageRecord } from '../../runtime/png/startImageRecord.ts';
import { isGallerySource, type GalleryLegibility, type GallerySource, type ImageSettings } from '../../webview/protocol.ts';
import { galleryLegibility } from './galleryLegibility.ts';
import { sharedPngMetadataReader, type PngMetadataReader } from './pngMetadataReader.ts';

export interface IndexedImage {
  /** Absolute path. */
  path: string;
  /** Relative to the workspace folder, forward slashes: the id the webview uses. */
  id: string;
  name: string;
  mtimeMs: number;
  size: number;
  settings?: ImageSettings;
  /** From the `letterpress` chunk: what OCR read and whether this is the chosen candidate. */
  legibility?: GalleryLegibility;
  /** From the `letterpress` chunk's start image record: where the image came from. */
  source?: GallerySource;
}

export interface GalleryIndexOptions {
  workspaceRoot: string;
  /** Absolute path of the output folder (it may not exist yet). */
  outputFolder: string;
  /** Maps a sampler's display name ("Euler a") back to our scheduler name. */
  schedulerForSampler?: (sampler: string, scheduleType?: string) => SchedulerName | undefined;
  /** How deep to look into subfolders of the output folder. */
  maxDepth?: number;
  /** Reads the PNGs' text chunks off the host's thread; one shared worker unless given. */
  metadataReader?: PngMetadataReader;
}

/**
 * Export presets write here (`<output>/exports/<stem>/`): a dozen resized copies per export would
 * bury the generated images, so the gallery leaves this folder out.
 */
export const exportsFolderName = 'exports';

/** Enough for any real gallery; a folder with more PNGs shows the newest this many. */
export const maxIndexedImages = 2000;

export class GalleryIndex {
  private entries = new Map<string, IndexedImage>();

  constructor(private readonly options: GalleryIndexOptions) {}

  /** The images currently indexed, newest first. */
  get images(): IndexedImage[] {
    return [...this.entries.values()].sort((a, b) => b.mtimeMs - a.mtimeMs || a.id.localeCompare(b.id));
  }

  get(id: string): IndexedImage | undefined {
    return this.entries.get(id);
  }

  /** Re-reads the folder; unchanged files keep their parsed settings. */
  async refresh(): Promise<IndexedImage[]> {
    const files = await this.listPngs(this.options.outputFolder, this.options.maxDepth ?? 3);
    const stats = await Promise.all(
      files.map(async (path) => {
        try {
          const s = await stat(path);
          return s.isFile() ? { path, mtimeMs: s.mtimeMs, size: s.size } : undefined;
        } catch {
          return undefined; // deleted while we looked
        }
      }),
    );
    const present = stats
      .filter((s): s is NonNullable<typeof s> => s !== undefined)
      .sort((a, b) => b.mtimeMs - a.mtimeMs)
      .slice(0, maxIndexedImages);
    const next = new Map<string, IndexedImage>();
    for (const file of present) {
      const id = relative(this.options.workspaceRoot, file.path).split(sep).join('/');
      const known = this.entries.get(id);
      if (known && known.mtimeMs === file.mtimeMs && known.size === file.size) {
        next.set(id, known);
        continue;
      }
      const name = file.path.slice(file.path.lastIndexOf(sep) + 1);
      next.set(id, { path: file.path, id, name, mtimeMs: file.mtimeMs, size: file.size, ...(await this.readMetadata(file.path)) });
    }
    this.entries = next;
    return this.images;
  }

  private async listPngs(folder: string, depth: number, top = true): Promise<string[]> {
    let dirents;
    try {
      dirents = await readdir(folder, { withFileTypes: true });
    } catch {
      return []; // no output folder yet: an empty gallery
    }
    const out: string[] = [];
    for (const d of dirents) {
      // Hidden entries include our own temp files of half-written images.
      if (d.name.startsWith('.')) continue;
      const full = join(folder, d.name);
      if (d.isFile() && d.name.toLowerCase().endsWith('.png')) out.push(full);
      else if (d.isDirectory() && depth > 0 && !(top && d.name === exportsFolderName)) out.push(...(await this.listPngs(full, depth - 1, false)));
    }
    return out;
  }

  private async readMetadata(path: string): Promise<Pick<IndexedImage, 'settings' | 'legibility' | 'source'>> {
    let chunks: Record<string, string>;
    try {
      // In a worker, within bounds: the folder may hold files from anywhere (a cloned repository),
      // and a decompression bomb must cost the host nothing.
      chunks = await (this.options.metadataReader ?? sharedPngMetadataReader()).read(path, ['parameters', letterpressChunkKey]);
    } catch {
      return {}; // not a PNG after all, truncated, or past the reading limits: shown without settings
    }
    const parameters = chunks['parameters'];
    const settings = parameters === undefined ? undefined : settingsFromParameters(parameters, this.options.schedulerForSampler);
    const record = chunks[letterpressChunkKey];
    const legibility = record === undefined ? undefined : galleryLegibility(record, settings?.seed);
    const source = gallerySource(record);
    return { ...(settings ? { settings } : {}), ...(legibility ? { legibility } : {}), ...(source ? { source } : {}) };
  }
}

export function settingsFromParameters(
  text: string,
  schedulerForSampler?: (sampler: string, scheduleType?: string) => SchedulerName | undefined,
): ImageSettings {
  const p = parseGenerationParameters(text);
  const settings: ImageSettings = { prompt: p.prompt, negativePrompt: p.negativePrompt };
  if (p.steps !== undefined) settings.steps = p.steps;
  if (p.sampler !== undefined) {
    // Shown as the older combined name ("DPM++ 2M Karras"); "Automatic" adds nothing to read.
    const schedule = p.scheduleType && p.scheduleType !== 'Automatic' ? ` ${p.scheduleType}` : '';
    settings.sampler = `${p.sampler}${schedule}`;
    const scheduler = schedulerForSampler?.(p.sampler, p.scheduleType);
    if (scheduler) settings.scheduler = scheduler;
  }
  if (p.cfgScale !== undefined) settings.guidanceScale = p.cfgScale;
  if (p.seed !== undefined && p.seed >= 0) settings.seed = p.seed;
  if (p.width !== undefined) settings.width = p.width;
  if (p.height !== undefined) settings.height = p.height;
  if (p.model !== undefined) settings.model = p.model;
  return settings;
}

/** The card's provenance from the `letterpress` chunk's start image record; undefined when none or out of bounds. */
export function gallerySource(chunkText: string | undefined): GallerySource | undefined {
  const record = parseStartImageRecord(chunkText);
  if (!record) return undefined;
  const view: GallerySource = {
    mode: record.mode,
    strength: record.strength,
    ...(record.image.path !== undefined ? { image: record.image.path } : {}),
    ...(record.mask ? { mask: record.mask.box ? 'box' : 'file' } : {}),
  };
  return isGallerySource(view) ? view : undefined;
}
