// Transparent background for icons: when the four corners share one colour (a flat backdrop, as
// icon prompts usually give), flood-fill that colour inward from the corners and make it transparent.
// Filling from the corners, not keying the colour everywhere, keeps the same colour inside the
// subject. Images whose corners differ are left alone: there is no single backdrop to take away.
import sharp from 'sharp';
import { sharpInputOptions } from '../png/imageLimits.ts';

export type Rgb = [number, number, number];

export interface BackgroundRemoval {
  /** The PNG with an alpha channel, or null when the image was left alone. */
  png: Buffer | null;
  /** Why the image was left alone. */
  reason?: string;
  background?: Rgb;
  /** Share of pixels made fully transparent. */
  transparentShare: number;
}

export const defaultTolerance = 40;

function distance(data: Uint8Array, i: number, colour: Rgb): number {
  const dr = data[i]! - colour[0];
  const dg = data[i + 1]! - colour[1];
  const db = data[i + 2]! - colour[2];
  return Math.sqrt(dr * dr + dg * dg + db * db);
}

/** `tolerance`: largest RGB (Euclidean, 0–441) distance from the corner colour still taken for background. */
export async function removeUniformBackground(image: Buffer, tolerance = defaultTolerance): Promise<BackgroundRemoval> {
  const { data, info } = await sharp(image, sharpInputOptions).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const patch = Math.max(2, Math.round(Math.min(width, height) * 0.02));
  const corners: Array<[number, number]> = [
    [0, 0],
    [width - patch, 0],
    [0, height - patch],
    [width - patch, height - patch],
  ];
  const means: Rgb[] = [];
  for (const [cx, cy] of corners) {
    const sum = [0, 0, 0];
    for (let y = cy; y < cy + patch; y++) {
      for (let x = cx; x < cx + patch; x++) {
        const i = (y * width + x) * 4;
        sum[0]! += data[i]!;
        sum[1]! += data[i + 1]!;
        sum[2]! += data[i + 2]!;
      }
    }
    const mean: Rgb = [sum[0]! / (patch * patch), sum[1]! / (patch * patch), sum[2]! / (patch * patch)];
    for (let y = cy; y < cy + patch; y++) {
      for (let x = cx; x < cx + patch; x++) {
        if (distance(data, (y * width + x) * 4, mean) > tolerance / 2) {
          return { png: null, reason: 'a corner of the image is not one flat colour, so there is no plain background to remove', transparentShare: 0 };
        }
      }
    }
    means.push(mean);
  }
  for (const a of means) {
    for (const b of means) {
      if (Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) > tolerance) {
        return { png: null, reason: 'the corners of the image differ in colour, so there is no single background to remove', transparentShare: 0 };
      }
    }
  }
  const background: Rgb = [0, 1, 2].map((c) => Math.round(means.reduce((s, m) => s + m[c]!, 0) / 4)) as Rgb;

  const filled = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  let top = 0;
  for (const start of [0, width - 1, (height - 1) * width, height * width - 1]) {
    if (!filled[start] && distance(data, start * 4, background) <= tolerance) {
      filled[start] = 1;
      stack[top++] = start;
    }
  }
  let count = top;
  while (top > 0) {
    const p = stack[--top]!;
    const x = p % width;
    const neighbours = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, p - width, p + width];
    for (const q of neighbours) {
      if (q < 0 || q >= width * height || filled[q]) continue;
      if (distance(data, q * 4, background) > tolerance) continue;
      filled[q] = 1;
      stack[top++] = q;
      count++;
    }
  }
  if (count > 0.98 * width * height) {
    return { png: null, reason: 'the whole image is the background colour; nothing would be left', background, transparentShare: 0 };
  }

  const out = Buffer.from(data);
  for (let p = 0; p < width * height; p++) {
    if (filled[p]) {
      out[p * 4 + 3] = 0;
      continue;
    }
    // The subject's anti-aliased rim: fade pixels next to the removed area by how close they are to the backdrop.
    const x = p % width;
    const nextToFill = (x > 0 && filled[p - 1]) || (x < width - 1 && filled[p + 1]) || (p >= width && filled[p - width]) || (p + width < width * height && filled[p + width]);
    if (nextToFill) {
      const d = distance(data, p * 4, background);
      const alpha = Math.min(1, Math.max(0, (d - tolerance) / tolerance));
      out[p * 4 + 3] = Math.round(out[p * 4 + 3]! * Math.max(alpha, 0.25));
    }
  }
  const png = await sharp(out, { raw: { width, height, channels: 4 } }).png().toBuffer();
  return { png, background, transparentShare: count / (width * height) };
}
