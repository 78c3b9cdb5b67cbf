// Text drawn as a coverage mask (one 8-bit channel) with the bundled font, as large as fits a box.
// Layers of colour, stroke and shadow are made from masks, so the text itself is drawn only once.
import sharp from 'sharp';
import { bundledFontFamily, bundledFontFile } from './bundledFont.ts';

export interface Mask {
  /** width × height coverage values, 0 (none) to 255 (full). */
  data: Buffer;
  width: number;
  height: number;
}

/** A text mask and the font size (pixels) it was drawn at. */
export interface TextMask extends Mask {
  fontSize: number;
}

/** Pango reads the text as markup: escape it so "R&D <3" is drawn as written. */
function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Draws `text` (line breaks kept, lines centred, no extra wrapping) at the largest size that fits
 * `maxWidth` × `maxHeight`; the mask is the size of the drawn text, not of the box.
 */
export async function renderTextMask(text: string, maxWidth: number, maxHeight: number): Promise<TextMask> {
  if (!text.trim()) throw new Error('no text to draw');
  const { data, info } = await sharp({
    text: {
      text: escapeMarkup(text),
      font: bundledFontFamily,
      fontfile: bundledFontFile(),
      width: Math.max(1, Math.floor(maxWidth)),
      height: Math.max(1, Math.floor(maxHeight)),
      align: 'centre',
      wrap: 'none',
    },
  })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  // libvips fits the text by its resolution, for Pango's default 12 pt: 12 pt at N dpi is N/6 px.
  const dpi = info.textAutofitDpi ?? 72;
  return { data, width: info.width, height: info.height, fontSize: (12 * dpi) / 72 };
}

/**
 * Grows a mask by `radius` pixels with a square max filter, rows then columns: the outline that keeps
 * text readable on busy backgrounds. (sharp's dilate() is a binary morphology on 0/255 images, which
 * would lose the anti-aliased edges.)
 */
export function dilateMask(mask: Mask, radius: number): Mask {
  const r = Math.max(1, Math.round(radius));
  const width = mask.width + 2 * r;
  const height = mask.height + 2 * r;
  const padded = new Uint8Array(width * height);
  for (let y = 0; y < mask.height; y++) padded.set(mask.data.subarray(y * mask.width, (y + 1) * mask.width), (y + r) * width + r);
  const rows = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let m = 0;
      for (let k = Math.max(0, x - r); k <= Math.min(width - 1, x + r); k++) m = Math.max(m, padded[y * width + k]!);
      rows[y * width + x] = m;
    }
  }
  const out = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let m = 0;
      for (let k = Math.max(0, y - r); k <= Math.min(height - 1, y + r); k++) m = Math.max(m, rows[k * width + x]!);
      out[y * width + x] = m;
    }
  }
  return { data: out, width, height };
}

/** An RGBA layer of one colour whose alpha is the mask scaled by `opacity`. */
export function paintMask(mask: Mask, rgb: readonly [number, number, number], opacity = 1): Buffer {
  const out = Buffer.alloc(mask.width * mask.height * 4);
  for (let i = 0; i < mask.width * mask.height; i++) {
    out[i * 4] = rgb[0];
    out[i * 4 + 1] = rgb[1];
    out[i * 4 + 2] = rgb[2];
    out[i * 4 + 3] = Math.round(mask.data[i]! * opacity);
  }
  return out;
}
