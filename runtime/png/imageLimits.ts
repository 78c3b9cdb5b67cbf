// How large an image Letterpress decodes. A PNG's header states its size and a few hundred
// kilobytes of image data can claim 100000×100000 pixels (a pixel bomb): every decode of a file we
// did not write (draw-text, export, gallery thumbnails) checks the header against this first and
// passes it to sharp as `limitInputPixels`, so nothing is decoded past it.

/** 32 megapixels: an 8192×4096 image, 128 MB as RGBA. Generated images are at most 2048×2048. */
export const maxInputPixels = 32 * 1024 * 1024;

/** Largest image file read whole into memory (export, draw-text). */
export const maxInputImageBytes = 256 * 1024 * 1024;

/** The options every sharp() on an image from disk gets. */
export const sharpInputOptions = { limitInputPixels: maxInputPixels } as const;

/** Width and height from a PNG's IHDR chunk, without decoding; undefined when it is not a PNG. */
export function pngHeaderSize(png: Buffer): { width: number; height: number } | undefined {
  // signature (8) · length (4) · "IHDR" (4) · width (4) · height (4)
  if (png.length < 24 || png.readUInt32BE(0) !== 0x89504e47 || png.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Why an image of this size is refused, or undefined when it may be decoded. */
export function oversizeReason(width: number, height: number, name: string): string | undefined {
  if (width * height <= maxInputPixels) return undefined;
  return `${name} is ${width}×${height} pixels, more than the ${Math.round(maxInputPixels / 1e6)} megapixels Letterpress decodes: scale it down first`;
}
