// Start images and masks for image-to-image and inpainting, prepared the way diffusers'
// VaeImageProcessor prepares them: the image stretched to the requested size, as RGB in [-1, 1]
// ([1, 3, H, W]); the mask made grey, stretched likewise, binarised at 0.5 and shrunk to the latent
// grid by nearest neighbour (torch's interpolate: the top-left pixel of each cell).
//
// Any format sharp reads (PNG, JPEG, WebP, …), turned upright by its EXIF orientation; a start
// image's transparency is flattened on white, a mask's on black (transparent = keep). Decoding is
// bounded: the file's size before reading and the pixel count before decoding.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { readOnlyNoWait } from '../files/readRegularFile.ts';
import sharp from 'sharp';
import { GenerationError } from './generationError.ts';
import { limits } from '../protocol/limits.ts';
import { maxInputPixels, oversizeReason, pngHeaderSize } from '../png/imageLimits.ts';
import type { PixelBox } from '../protocol/paramsValidation.ts';

/** A file path, or the encoded bytes of an image made in memory (layout pictures, drawn glyphs). */
export type ImageInput = string | Uint8Array;

/** Largest start image or mask file read. */
export const maxStartImageBytes = limits.startImageBytes.maxBytes;
/** Largest start image or mask decoded (sharp's limitInputPixels): the bound of every image Letterpress reads. */
export const maxStartImagePixels = maxInputPixels;

/** "the start image photo.png", or "the start image (made in memory)". */
function describe(input: ImageInput, role: string): string {
  return typeof input === 'string' ? `the ${role} ${input}` : `the ${role} (made in memory)`;
}

/** The encoded bytes, read with the size bound. */
export async function readImageBytes(input: ImageInput, role = 'start image'): Promise<Uint8Array> {
  if (typeof input !== 'string') {
    if (input.byteLength > maxStartImageBytes) {
      throw new GenerationError(`the ${role} is ${input.byteLength} bytes; at most ${maxStartImageBytes} are read`);
    }
    return input;
  }
  let handle;
  try {
    handle = await open(input, readOnlyNoWait);
  } catch (error) {
    throw new GenerationError(`cannot read the ${role} ${input}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new GenerationError(`the ${role} ${input} is not a file`);
    if (info.size > maxStartImageBytes) {
      throw new GenerationError(`the ${role} ${input} is ${info.size} bytes; at most ${maxStartImageBytes} (${maxStartImageBytes / 1024 / 1024} MiB) are read`);
    }
    const data = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(data, 0, info.size, 0);
    return data.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function decoder(bytes: Uint8Array) {
  return sharp(bytes, { limitInputPixels: maxStartImagePixels, failOn: 'error' });
}

function decodeError(input: ImageInput, role: string, error: unknown, bytes?: Uint8Array): GenerationError {
  const message = (error as Error)?.message ?? String(error);
  if (/pixel limit/i.test(message)) {
    const header = bytes ? pngHeaderSize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) : undefined;
    const reason = header && oversizeReason(header.width, header.height, describe(input, role));
    return new GenerationError(reason ?? `${describe(input, role)} has more than the ${Math.round(maxStartImagePixels / 1e6)} megapixels Letterpress decodes: scale it down first`);
  }
  return new GenerationError(`cannot read ${describe(input, role)} as an image (PNG, JPEG or WebP): ${message.split('\n')[0]}`);
}

export interface ImageSize {
  width: number;
  height: number;
}

/** The upright size of an encoded image (EXIF orientation applied). */
export async function encodedImageSize(bytes: Uint8Array, input: ImageInput = bytes, role = 'start image'): Promise<ImageSize> {
  try {
    const meta = await decoder(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in the file');
    const oversize = oversizeReason(meta.width, meta.height, describe(input, role));
    if (oversize) throw new GenerationError(oversize);
    const turned = (meta.orientation ?? 1) >= 5;
    return turned ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  } catch (error) {
    throw error instanceof GenerationError ? error : decodeError(input, role, error, bytes);
  }
}

/** diffusers' default output size for a start image: its own size rounded down to multiples of `multiple`. */
export function defaultSizeFor(size: ImageSize, multiple = 8): ImageSize {
  const round = (v: number) => Math.max(multiple, Math.floor(v / multiple) * multiple);
  return { width: round(size.width), height: round(size.height) };
}

/** Upright, flattened, stretched to width x height: 8-bit RGB, [H, W, 3]. */
async function decodeRgb(bytes: Uint8Array, input: ImageInput, role: string, width: number, height: number, background: string): Promise<{ rgb: Uint8Array; resized: boolean; original: ImageSize }> {
  const original = await encodedImageSize(bytes, input, role);
  const resized = original.width !== width || original.height !== height;
  try {
    let pipeline = decoder(bytes).rotate().flatten({ background });
    // Lanczos, like PIL's resize in diffusers' image processor.
    if (resized) pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== 3 || data.length !== width * height * 3) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
    }
    return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), resized, original };
  } catch (error) {
    throw decodeError(input, role, error, bytes);
  }
}

export interface PreparedStartImage {
  /** [1, 3, height, width] in [-1, 1], what the VAE encoder takes. */
  sample: Float32Array;
  /** SHA-256 of the encoded file, for the image's provenance record. */
  sha256: string;
  original: ImageSize;
  resized: boolean;
}

/** 8-bit RGB [H, W, 3] → [1, 3, H, W] in [-1, 1] (x / 255 · 2 − 1 in float32, as diffusers normalises). */
export function rgbToVaeSample(rgb: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = Math.fround(2 * Math.fround(rgb[i * 3 + c] / 255)) - 1;
  }
  return out;
}

export async function prepareStartImage(input: ImageInput, width: number, height: number): Promise<PreparedStartImage> {
  const bytes = await readImageBytes(input);
  const { rgb, resized, original } = await decodeRgb(bytes, input, 'start image', width, height, '#ffffff');
  return { sample: rgbToVaeSample(rgb, width, height), sha256: createHash('sha256').update(bytes).digest('hex'), original, resized };
}

export interface PreparedMask {
  /** [latentHeight · latentWidth], 1 = repaint, 0 = keep. */
  latentMask: Uint8Array;
  /** White pixels of the binarised full-size mask. */
  whitePixels: number;
  /** Cells of the latent grid that are repainted. */
  repaintedCells: number;
  sha256: string;
  original: ImageSize;
  resized: boolean;
}

/** PIL's "L" conversion (ITU-R 601-2 luma, in its fixed-point form). */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/** The mask at the latent grid: `downscale` = the VAE's factor (8). */
export function maskToLatentGrid(rgb: Uint8Array, width: number, height: number, downscale: number): { latentMask: Uint8Array; whitePixels: number; repaintedCells: number } {
  const binary = new Uint8Array(width * height);
  let whitePixels = 0;
  for (let i = 0; i < binary.length; i++) {
    // v / 255 >= 0.5 exactly when v >= 128.
    const white = luma(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]) >= 128 ? 1 : 0;
    binary[i] = white;
    whitePixels += white;
  }
  const lw = Math.floor(width / downscale);
  const lh = Math.floor(height / downscale);
  const latentMask = new Uint8Array(lw * lh);
  let repaintedCells = 0;
  for (let y = 0; y < lh; y++) {
    const sy = Math.min(height - 1, Math.floor((y * height) / lh));
    for (let x = 0; x < lw; x++) {
      const sx = Math.min(width - 1, Math.floor((x * width) / lw));
      latentMask[y * lw + x] = binary[sy * width + sx];
      repaintedCells += binary[sy * width + sx];
    }
  }
  return { latentMask, whitePixels, repaintedCells };
}

export async function prepareMask(input: ImageInput, width: number, height: number, downscale: number): Promise<PreparedMask> {
  const bytes = await readImageBytes(input, 'mask');
  const { rgb, resized, original } = await decodeRgb(bytes, input, 'mask', width, height, '#000000');
  return { ...maskToLatentGrid(rgb, width, height, downscale), sha256: createHash('sha256').update(bytes).digest('hex'), original, resized };
}

/** A black PNG of width × height, white over `box` (rounded to whole pixels, kept inside): inpainting's mask (white = repaint). */
export async function rectangleMask(width: number, height: number, box: PixelBox): Promise<Buffer> {
  const left = Math.min(width - 1, Math.max(0, Math.round(box.left)));
  const top = Math.min(height - 1, Math.max(0, Math.round(box.top)));
  const right = Math.min(width, Math.max(left + 1, Math.round(box.left + box.width)));
  const bottom = Math.min(height, Math.max(top + 1, Math.round(box.top + box.height)));
  const white = await sharp({ create: { width: right - left, height: bottom - top, channels: 3, background: '#ffffff' } }).png().toBuffer();
  return sharp({ create: { width, height, channels: 3, background: '#000000' } })
    .composite([{ input: white, left, top }])
    .png()
    .toBuffer();
}
