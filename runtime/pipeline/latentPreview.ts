// A cheap look at an image while it is being sampled: SD's four latent channels mapped to RGB by
// one fixed linear map plus bias, at latent resolution (1/8 of the image), with no VAE pass.
// The coefficients are the widely used community approximation for SD 1.x/2.x latents (fitted by
// regressing decoded RGB on latents); the result is blurry and off in colour, but shows the layout
// and where the text goes within a few steps.
import { deflateSync } from 'node:zlib';
import { makePngChunk } from '../png/pngTextChunks.ts';

/** Rows: latent channels 0..3; columns: R, G, B contribution in [-1, 1] image space. */
export const latentRgbFactors: readonly (readonly [number, number, number])[] = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];
/** SD's scaled latents are roughly zero-mean per channel, so the map needs no offset of its own. */
export const latentRgbBias: readonly [number, number, number] = [0, 0, 0];

export interface LatentShape {
  channels: number;
  height: number;
  width: number;
}

/**
 * RGB bytes [h, w, 3] of batch entry `index` of latents [B, 4, h, w] (the UNet's scaled space).
 * Latents far from unit scale (early steps of sigma-based samplers carry noise × sigma) are scaled
 * down to unit RMS so the preview shows structure rather than saturated noise.
 */
export function latentToRgb(latents: Float32Array, shape: LatentShape, index = 0): Uint8Array {
  const { channels, height, width } = shape;
  if (channels !== 4) throw new RangeError(`latent preview needs 4 latent channels, got ${channels}`);
  const plane = height * width;
  const offset = index * channels * plane;
  if (offset + channels * plane > latents.length) throw new RangeError(`latents hold no batch entry ${index}`);
  let sumSquares = 0;
  for (let i = offset; i < offset + channels * plane; i++) sumSquares += latents[i] * latents[i];
  const rms = Math.sqrt(sumSquares / (channels * plane));
  const scale = rms > 1 ? 1 / rms : 1;
  const rgb = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      let v = latentRgbBias[c];
      for (let k = 0; k < 4; k++) v += latents[offset + k * plane + p] * scale * latentRgbFactors[k][c];
      // [-1, 1] → [0, 255]
      const unit = (v + 1) / 2;
      rgb[p * 3 + c] = unit <= 0 ? 0 : unit >= 1 ? 255 : Math.round(unit * 255);
    }
  }
  return rgb;
}

/**
 * A minimal 8-bit RGB PNG, made synchronously: previews are built inside the sampling loop's
 * progress callback and are at most a few KB, so sharp's async pipeline would only add latency.
 */
export function encodeSmallRgbPng(rgb: Uint8Array, width: number, height: number): Buffer {
  if (rgb.length !== width * height * 3) throw new RangeError(`expected ${width}x${height}x3 bytes, got ${rgb.length}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  // compression, filter, interlace: all 0
  const rowBytes = width * 3;
  const raw = Buffer.alloc((rowBytes + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (rowBytes + 1)] = 0; // filter: none
    raw.set(rgb.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    makePngChunk('IHDR', header),
    makePngChunk('IDAT', deflateSync(raw)),
    makePngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** PNG preview of batch entry `index`, at latent resolution. */
export function latentPreviewPng(latents: Float32Array, shape: LatentShape, index = 0): Uint8Array {
  return new Uint8Array(encodeSmallRgbPng(latentToRgb(latents, shape, index), shape.width, shape.height));
}

/** About ten previews per image, never on the last step (the decoded image comes right after). */
export function wantsPreview(step: number, total: number): boolean {
  if (step >= total) return false;
  const every = Math.max(1, Math.round(total / 10));
  return step % every === 0;
}
