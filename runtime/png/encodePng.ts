// 8-bit RGB PNG from the pipeline's float image, with optional text chunks.
import sharp from 'sharp';
import { addPngTextChunks } from './pngTextChunks.ts';

/** Float [0,1] → byte as diffusers' numpy_to_pil does: round(x·255), after clamping. */
export function floatToRgbBytes(pixels: Float32Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    // NaN ends up 0 rather than poisoning the encoder.
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}

/** `pixels` is [height, width, 3] in [0, 1]. */
export async function encodeRgbPng(
  pixels: Float32Array,
  width: number,
  height: number,
  textChunks: Record<string, string> = {},
): Promise<Buffer> {
  if (pixels.length !== width * height * 3) {
    throw new RangeError(`image has ${pixels.length} values, expected ${width}x${height}x3`);
  }
  const png: Buffer = await sharp(floatToRgbBytes(pixels), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return addPngTextChunks(png, Object.entries(textChunks));
}
