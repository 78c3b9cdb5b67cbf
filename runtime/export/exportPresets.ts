// The export presets behind `letterpress export` (and, later, the gallery): each turns one image into
// a set of files in a folder, never replacing a file that is already there.
import { basename, extname, join } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { FileReadError, readRegularFile } from '../files/readRegularFile.ts';
import { maxInputImageBytes, oversizeReason, pngHeaderSize, sharpInputOptions } from '../png/imageLimits.ts';
import { checkCompletePng, PngFormatError } from '../png/pngTextChunks.ts';
import { removeUniformBackground } from './backgroundRemoval.ts';
import { makeBanners } from './bannerCrops.ts';
import type { CropStrategy, ExportFile } from './iconSet.ts';
import { makeIconSet } from './iconSet.ts';
import { writeNewFiles } from '../files/newFiles.ts';

export const exportPresetNames = ['icons', 'banners', 'transparent'] as const;
export type ExportPresetName = (typeof exportPresetNames)[number];

export interface ExportRequest {
  preset: ExportPresetName;
  /** The image file to export from. */
  input: string;
  outDir: string;
  crop?: CropStrategy;
  /** icons: remove a flat background first. */
  transparent?: boolean;
  tolerance?: number;
}

export interface ExportOutcome {
  files: Array<{ path: string; width: number; height: number }>;
  /** Things the user should know, e.g. that the background was left in place. */
  notes: string[];
}

export class ExportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportInputError';
  }
}

async function readImage(path: string): Promise<Buffer> {
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

export async function runExport(request: ExportRequest): Promise<ExportOutcome> {
  let image = await readImage(request.input);
  const notes: string[] = [];
  let files: ExportFile[];
  if (request.preset === 'transparent' || (request.preset === 'icons' && request.transparent)) {
    const removal = await removeUniformBackground(image, request.tolerance);
    if (removal.png) {
      image = removal.png;
      notes.push(`background rgb(${removal.background!.join(', ')}) removed from ${Math.round(removal.transparentShare * 100)}% of the image`);
    } else {
      if (request.preset === 'transparent') throw new ExportInputError(`left ${request.input} alone: ${removal.reason}`);
      notes.push(`background kept: ${removal.reason}`);
    }
  }
  if (request.preset === 'icons') {
    files = await makeIconSet(image, request.crop ?? 'centre');
  } else if (request.preset === 'banners') {
    files = await makeBanners(image, request.crop ?? 'attention');
  } else {
    const meta = await sharp(image, sharpInputOptions).metadata();
    const stem = basename(request.input, extname(request.input));
    files = [{ name: `${stem}-transparent.png`, data: image, width: meta.width!, height: meta.height! }];
  }
  const written = await writeNewFiles(files.map((file) => ({ path: join(request.outDir, file.name), data: file.data })));
  return { files: written.map((path, i) => ({ path, width: files[i]!.width, height: files[i]!.height })), notes };
}
