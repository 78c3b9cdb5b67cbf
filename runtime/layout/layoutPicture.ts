// Layout-first text: the target drawn plainly with the bundled font, placed for what the image is
// (an icon: centred and large; a banner: one line; a mockup: the title area), in the prompt's colours.
// Image-to-image then restyles this picture, so the model keeps letters it was shown instead of
// inventing them. The picture is flat on purpose: texture would be read as something to keep.
import sharp from 'sharp';
import type { TextBox } from '../png/letterpressRecord.ts';
import type { Rgb } from '../legibility/regionColours.ts';
import { paintMask, renderTextMask } from '../legibility/textMask.ts';
import type { LayoutColours } from './promptColours.ts';
import { coloursFromPrompt } from './promptColours.ts';

export const layoutPresets = ['icon', 'banner', 'mockup'] as const;
export type LayoutPreset = (typeof layoutPresets)[number];
export type LayoutAlign = 'left' | 'centre';

/** Wide enough for one line of text across: Letterpress's banners are 3:1 and 4:1. */
const bannerAspect = 2.5;
/** Close enough to square to centre the text like an icon's. */
const iconAspect = 1.3;

/** What an image of this size is for, as far as text placement goes. */
export function layoutPresetFor(width: number, height: number): LayoutPreset {
  const aspect = Math.max(width, height) / Math.min(width, height);
  if (width >= height && width / height >= bannerAspect) return 'banner';
  if (aspect <= iconAspect) return 'icon';
  return 'mockup';
}

/** Left-aligned when the prompt asks for it ("left-aligned", "on the left"), centred otherwise. */
export function layoutAlignFor(prompt: string): LayoutAlign {
  return /\bleft[- ]aligned\b|\b(?:on|at|to) the left\b|\bleft side\b/i.test(prompt) ? 'left' : 'centre';
}

/** Banners are one line: several quoted strings go side by side (OCR compares them space-separated). */
export function layoutLines(target: string, preset: LayoutPreset): string {
  return preset === 'banner' ? target.split('\n').join('  ') : target;
}

/** The box the letters are fitted into (the drawn text may be narrower or lower, never larger). */
export function layoutBox(width: number, height: number, lineCount: number, preset: LayoutPreset, align: LayoutAlign = 'centre'): TextBox {
  let boxWidth: number;
  let boxHeight: number;
  let top: number;
  switch (preset) {
    case 'icon':
      // Large and centred: a short word fills most of the width, two lines most of the height.
      boxWidth = 0.8 * width;
      boxHeight = Math.min(0.7, 0.34 * lineCount) * height;
      top = (height - boxHeight) / 2;
      break;
    case 'banner':
      boxWidth = 0.88 * width;
      boxHeight = 0.58 * height;
      top = (height - boxHeight) / 2;
      break;
    case 'mockup':
      // The title area: a band across the top, clear of the edge, leaving the rest for the picture.
      boxWidth = 0.8 * width;
      boxHeight = Math.min(0.4, 0.2 * lineCount) * height;
      top = 0.08 * height;
      break;
  }
  const w = Math.round(boxWidth);
  const h = Math.round(boxHeight);
  const left = align === 'left' ? Math.round(0.06 * width) : Math.round((width - w) / 2);
  return { left, top: Math.round(top), width: w, height: h };
}

export interface LayoutPicture {
  /** RGB PNG of width × height. */
  png: Buffer;
  preset: LayoutPreset;
  align: LayoutAlign;
  colours: LayoutColours;
  /** The box the text was fitted into; repair inpaints around it. */
  box: TextBox;
  /** Where the letters actually are (inside `box`). */
  textBox: TextBox;
}

export interface LayoutRequest {
  target: string;
  /** The prompt: its colour words choose the colours, "left-aligned" the alignment. */
  prompt: string;
  width: number;
  height: number;
  /** Default: from the size (layoutPresetFor). */
  preset?: LayoutPreset;
  /** Default: from the prompt (layoutAlignFor). */
  align?: LayoutAlign;
  /** Default: from the prompt (coloursFromPrompt). */
  colours?: LayoutColours;
}

function solid(width: number, height: number, rgb: Rgb) {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

export async function renderLayoutPicture(request: LayoutRequest): Promise<LayoutPicture> {
  const { width, height } = request;
  const preset = request.preset ?? layoutPresetFor(width, height);
  const align = request.align ?? (preset === 'icon' ? 'centre' : layoutAlignFor(request.prompt));
  const colours = request.colours ?? coloursFromPrompt(request.prompt);
  const text = layoutLines(request.target, preset);
  const lineCount = text.split('\n').length;
  const box = layoutBox(width, height, lineCount, preset, align);
  const mask = await renderTextMask(text, box.width, box.height);
  const left = align === 'left' ? box.left : box.left + Math.round((box.width - mask.width) / 2);
  const top = box.top + Math.round((box.height - mask.height) / 2);
  const textBox = { left, top, width: mask.width, height: mask.height };
  const drawn = await solid(width, height, colours.background)
    .composite([{ input: paintMask(mask, colours.ink), raw: { width: mask.width, height: mask.height, channels: 4 }, left, top }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Compositing adds an alpha channel; the start image of image-to-image is plain RGB.
  const png = await sharp(drawn.data, { raw: { width, height, channels: drawn.info.channels } }).removeAlpha().png().toBuffer();
  return { png, preset, align, colours, box, textBox };
}
