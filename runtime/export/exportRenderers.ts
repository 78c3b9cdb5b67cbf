// What each export preset makes from an image, in memory: the runtime's side of the preset table in
// runtime/protocol/exportPresets.ts (one renderer per name there). Writing the files is the job's
// (runtime/jobs/exportImageJob.ts), so nothing here touches the destination.
import { basename, extname } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { FileReadError, readRegularFile } from '../files/readRegularFile.ts';
import { maxInputImageBytes, oversizeReason, pngHeaderSize, sharpInputOptions } from '../png/imageLimits.ts';
import { parseLegibilityChunk, letterpressChunkKey } from '../png/letterpressRecord.ts';
import { checkCompletePng, PngFormatError, readPngTextChunks } from '../png/pngTextChunks.ts';
import { limits } from '../protocol/limits.ts';
import { exportPresets, type CropStrategy, type ExportPresetName } from '../protocol/exportPresets.ts';
import { removeUniformBackground } from './backgroundRemoval.ts';
import { makeBanners } from './bannerCrops.ts';
import type { ExportFile } from './iconSet.ts';
import { makeIconSet } from './iconSet.ts';
import { traceToSvg } from './svgTrace.ts';

/** An image the export cannot use (unreadable, too large, no flat background to remove): the user's to fix. */
export class ExportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportInputError';
  }
}

/** The image's bytes, checked whole (complete, decodable, within the pixel limit) before any preset runs. */
export async function readExportImage(path: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readRegularFile(path, maxInputImageBytes, 'image');
  } catch (error) {
    if (error instanceof FileReadError) throw new ExportInputError(error.problem === 'missing' ? `no such file: ${path}` : error.message);
    throw error;
  }
  const isPng = pngHeaderSize(data) !== undefined;
  if (isPng) {
    try {
      checkCompletePng(data);
    } catch (error) {
      if (error instanceof PngFormatError) throw new ExportInputError(`${path} is ${error.message}`);
      throw error;
    }
  }
  let meta: Metadata;
  try {
    // The header only (metadata decodes no pixels), so it may exceed the limit: checked just below.
    meta = await sharp(data, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) throw new Error('no size');
  } catch {
    throw new ExportInputError(`${path} is not an image sharp can read (PNG, JPEG, WebP, …)`);
  }
  // The header's size, before any pixel is decoded: a pixel bomb stops here.
  const tooLarge = oversizeReason(meta.width, meta.height, path);
  if (tooLarge) throw new ExportInputError(tooLarge);
  try {
    // Decoding once here finds a damaged file (bad CRC, broken data) with a message that says so,
    // rather than an internal decoder error halfway through the presets.
    await sharp(data, sharpInputOptions).raw().toBuffer();
  } catch (error) {
    throw new ExportInputError(`${path} is a damaged ${isPng ? 'PNG' : 'image'} (${(error as Error).message.split('\n')[0]})`);
  }
  return data;
}

export interface RenderOptions {
  /** The input file's path: names the files of presets that keep the image's name. */
  input: string;
  crop?: CropStrategy;
  /** Presets with `takesTransparent`: remove a flat background first. */
  transparent?: boolean;
  tolerance?: number;
  /** Presets with `takesColours`: the most colours the tracing may use. */
  colours?: number;
}

export interface RenderedExport {
  files: ExportFile[];
  /** Things the user should know, e.g. that the background was left in place. */
  notes: string[];
}

type Renderer = (image: Buffer, options: RenderOptions, notes: string[]) => Promise<ExportFile[]>;

/** One per preset of the table; the type checker asks for a renderer when a preset is added there. */
const renderers: { readonly [P in ExportPresetName]: Renderer } = {
  icons: (image, options) => makeIconSet(image, options.crop ?? 'centre'),
  banners: (image, options) => makeBanners(image, options.crop ?? 'attention'),
  transparent: async (image, options, notes) => {
    const removal = await removeUniformBackground(image, options.tolerance);
    if (!removal.png) throw new ExportInputError(`left ${options.input} alone: ${removal.reason}`);
    notes.push(backgroundNote(removal.background!, removal.transparentShare));
    const meta = await sharp(removal.png, sharpInputOptions).metadata();
    const stem = basename(options.input, extname(options.input));
    return [{ name: `${stem}-transparent.png`, data: removal.png, width: meta.width!, height: meta.height! }];
  },
  svg: async (image, options, notes) => {
    // The record of text Letterpress drew (a PNG it wrote); other images have none, or another tool's chunks.
    const record = pngHeaderSize(image) ? parseLegibilityChunk(readPngTextChunks(image)[letterpressChunkKey] ?? '') : null;
    const colours = options.colours ?? limits.exportColoursDefault;
    const traced = await traceToSvg(image, { colours, drawn: record?.drawnText });
    notes.push(`traced in ${traced.colours} of at most ${colours} colours${traced.textKept ? `; the text "${record!.drawnText!.text.replace(/\n/g, ' / ')}" kept as text` : ''}`);
    const stem = basename(options.input, extname(options.input));
    return [{ name: `${stem}.svg`, data: Buffer.from(traced.svg, 'utf8'), width: traced.width, height: traced.height }];
  },
};

function backgroundNote(background: readonly number[], share: number): string {
  return `background rgb(${background.join(', ')}) removed from ${Math.round(share * 100)}% of the image`;
}

/** The files of one preset from an image already read (readExportImage). */
export async function renderExport(preset: ExportPresetName, image: Buffer, options: RenderOptions): Promise<RenderedExport> {
  const notes: string[] = [];
  let source = image;
  if (options.transparent && (exportPresets[preset] as { takesTransparent?: boolean }).takesTransparent) {
    const removal = await removeUniformBackground(image, options.tolerance);
    if (removal.png) {
      source = removal.png;
      notes.push(backgroundNote(removal.background!, removal.transparentShare));
    } else {
      notes.push(`background kept: ${removal.reason}`);
    }
  }
  const files = await renderers[preset](source, options, notes);
  return { files, notes };
}
