// Image size presets and the W×H parser shared by the palette command and comment requests. Pure.
import { limits } from '../../runtime/protocol/limits.ts';

export interface ImagePreset {
  name: string;
  width: number;
  height: number;
  detail: string;
}

export const imagePresets: readonly ImagePreset[] = [
  { name: 'Icon', width: 512, height: 512, detail: 'App icons, logos, favicons' },
  { name: 'Banner', width: 1024, height: 256, detail: 'README headers, page banners' },
  { name: 'Banner', width: 768, height: 256, detail: 'Shorter banners, social cards' },
  { name: 'Mockup', width: 768, height: 512, detail: 'UI mockups, signs, posters' },
];

const { min: minSide, max: maxSide, multipleOf } = limits.side;

/** Parses "1024x256" (also "1024 × 256", "1024*256", "1024, 256"): a size or a message saying what is wrong. */
export function parseSize(text: string): { width: number; height: number } | { error: string } {
  const match = /^\s*(\d+)\s*(?:[x×*,]|\s)\s*(\d+)\s*$/i.exec(text);
  if (!match) return { error: 'Enter a size as width×height, e.g. 640x384.' };
  return checkSize(Number(match[1]), Number(match[2]));
}

export function checkSize(width: number, height: number): { width: number; height: number } | { error: string } {
  for (const [label, value] of [
    ['Width', width],
    ['Height', height],
  ] as const) {
    if (value % multipleOf !== 0) {
      const lower = Math.max(minSide, Math.floor(value / multipleOf) * multipleOf);
      return {
        error: `${label} ${value} is not a multiple of ${multipleOf} (the model works on ${multipleOf}×${multipleOf} pixel blocks); try ${lower} or ${lower + multipleOf}.`,
      };
    }
    if (value < minSide || value > maxSide) return { error: `${label} ${value} is outside ${minSide}–${maxSide} pixels.` };
  }
  return { width, height };
}
