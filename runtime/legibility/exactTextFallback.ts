// Exact-text fallback: when no candidate spells the target, draw the target over the best one with the
// bundled font, where OCR found the model's text (or at a chosen position), on a plate of the region's
// background colour that hides the misspelt letters, in the region's ink colour with an outline.
// The result is read back with OCR; a plainer, higher-contrast style is tried when a read-back fails.
import sharp from 'sharp';
import { sharpInputOptions } from '../png/imageLimits.ts';
import type { OverlayOptions as SharpOverlay } from 'sharp';
import type { DrawnTextRecord, LegibilityScore, TextBox } from '../png/letterpressRecord.ts';
import { bundledFontFamily } from './bundledFont.ts';
import { scoreImage } from './legibilityScore.ts';
import type { OcrReader } from './ocrReader.ts';
import type { Rgb } from './regionColours.ts';
import { contrastRatio, regionColours } from './regionColours.ts';
import { dilateMask, paintMask, renderTextMask } from './textMask.ts';
import type { TextPosition } from '../protocol/generationTypes.ts';

export interface OverlayStyle {
  /** Opacity of the plate that covers the model's lettering, 0–1. */
  plateOpacity: number;
  /** Use the region's own colours (true) or plain black/white at full contrast (false). */
  regionColours: boolean;
  /** Outline width as a share of the text's line height. */
  strokeShare: number;
}

export const overlayStyles: readonly OverlayStyle[] = [
  { plateOpacity: 0.92, regionColours: true, strokeShare: 0.06 },
  { plateOpacity: 1, regionColours: false, strokeShare: 0 },
];

export interface OverlayOptions {
  /** Where the model's text is (OCR's box); the plate and text go there, enlarged to a readable size. */
  region?: TextBox | null;
  /** Used when there is no region. Default 'centre'. */
  position?: TextPosition;
  style?: OverlayStyle;
}

export interface OverlayResult {
  png: Buffer;
  box: TextBox;
  textColour: Rgb;
  plateColour: Rgb;
  /** What was drawn, for the image's record. */
  drawn: DrawnTextRecord;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** The box the text goes in: the OCR region grown to a readable minimum, or a band at `position`. */
export function overlayBox(width: number, height: number, lineCount: number, options: OverlayOptions): TextBox {
  const minHeight = Math.min(0.6, 0.15 * lineCount) * height;
  const maxWidth = 0.92 * width;
  const maxHeight = Math.min(0.7, 0.24 * lineCount) * height;
  let boxWidth: number;
  let boxHeight: number;
  let centreX: number;
  let centreY: number;
  const region = options.region;
  if (region && region.width > 0 && region.height > 0) {
    boxWidth = clamp(region.width * 1.2, 0.7 * width, maxWidth);
    boxHeight = clamp(region.height * 1.4, minHeight, maxHeight);
    centreX = region.left + region.width / 2;
    centreY = region.top + region.height / 2;
  } else {
    boxWidth = 0.84 * width;
    boxHeight = Math.min(0.6, 0.2 * lineCount) * height;
    centreX = width / 2;
    const position = options.position ?? 'centre';
    const margin = 0.06 * height;
    centreY = position === 'top' ? margin + boxHeight / 2 : position === 'bottom' ? height - margin - boxHeight / 2 : height / 2;
  }
  const w = Math.round(Math.min(boxWidth, width));
  const h = Math.round(Math.min(boxHeight, height));
  const left = Math.round(clamp(centreX - w / 2, 0, width - w));
  const top = Math.round(clamp(centreY - h / 2, 0, height - h));
  return { left, top, width: w, height: h };
}

/**
 * The middle of a text region, where its colours are sampled: OCR's word boxes often reach well past
 * the letters, and the edges of the region would mix the picture around the sign into its colours.
 */
function coreOf(region: TextBox, width: number, height: number): TextBox {
  const left = clamp(Math.round(region.left + region.width * 0.15), 0, width - 1);
  const top = clamp(Math.round(region.top + region.height * 0.25), 0, height - 1);
  return {
    left,
    top,
    width: clamp(Math.round(region.width * 0.7), 1, width - left),
    height: clamp(Math.round(region.height * 0.5), 1, height - top),
  };
}

const black: Rgb = [0, 0, 0];
const white: Rgb = [255, 255, 255];

function pickColours(regionPixels: Buffer, channels: 3 | 4, style: OverlayStyle): { plate: Rgb; text: Rgb; stroke: Rgb } {
  const { background, ink } = regionColours(regionPixels, channels);
  const plate = background;
  const plainText = contrastRatio(black, plate) >= contrastRatio(white, plate) ? black : white;
  // WCAG's 4.5:1 for body text: below it OCR and people both start to miss letters.
  const text = style.regionColours && contrastRatio(ink, plate) >= 4.5 ? ink : plainText;
  // An outline in the plate's colour keeps texture showing through the plate away from the letters;
  // a contrasting (white on black) outline reads well to people but makes tesseract misread glyphs.
  return { plate, text, stroke: plate };
}

function plateRadius(width: number, height: number): number {
  return Math.round(Math.min(width, height) * 0.15);
}

function plateSvg(width: number, height: number, colour: Rgb, opacity: number): Buffer {
  const radius = plateRadius(width, height);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect x="0" y="0" width="${width}" height="${height}" rx="${radius}" ry="${radius}" ` +
      `fill="rgb(${colour.join(',')})" fill-opacity="${opacity}"/></svg>`,
  );
}

/** Composites `target` over `image` once, in one style; no read-back. */
export async function overlayExactText(image: Buffer, target: string, options: OverlayOptions = {}): Promise<OverlayResult> {
  const style = options.style ?? overlayStyles[0]!;
  const base = sharp(image, sharpInputOptions);
  const meta = await base.metadata();
  const width = meta.width;
  const height = meta.height;
  if (!width || !height) throw new Error('cannot read the image size');
  const lines = target.split('\n');
  const box = overlayBox(width, height, lines.length, options);

  const regionRaw = await sharp(image, sharpInputOptions).extract(coreOf(options.region ?? box, width, height)).removeAlpha().raw().toBuffer();
  const colours = pickColours(regionRaw, 3, style);

  const pad = Math.round(0.1 * box.height / lines.length) + 2;
  const mask = await renderTextMask(target, box.width - 2 * pad, box.height - 2 * pad);
  const lineHeight = mask.height / lines.length;
  const stroke = dilateMask(mask, Math.max(1, lineHeight * style.strokeShare));
  const shadowOffset = Math.max(1, Math.round(lineHeight * 0.04));

  const textLeft = box.left + Math.round((box.width - mask.width) / 2);
  const textTop = box.top + Math.round((box.height - mask.height) / 2);
  const strokeInset = (stroke.width - mask.width) / 2;
  const rawLayer = (data: Buffer, w: number, h: number, left: number, top: number) => ({
    input: data,
    raw: { width: w, height: h, channels: 4 as const },
    left,
    top,
  });
  const plate = await sharp(plateSvg(box.width, box.height, colours.plate, style.plateOpacity)).png().toBuffer();
  const shadow = await sharp(paintMask(stroke, colours.stroke, 0.45), { raw: { width: stroke.width, height: stroke.height, channels: 4 } })
    .blur(Math.max(0.5, shadowOffset))
    .png()
    .toBuffer();

  const shadowLeft = textLeft - strokeInset + shadowOffset;
  const shadowTop = textTop - strokeInset + shadowOffset;
  const layers: SharpOverlay[] = [{ input: plate, left: box.left, top: box.top }];
  // The shadow may reach past the image's edge, which sharp refuses: leave it out there.
  if (style.strokeShare > 0 && shadowLeft + stroke.width <= width && shadowTop + stroke.height <= height && shadowLeft >= 0 && shadowTop >= 0) {
    layers.push({ input: shadow, left: shadowLeft, top: shadowTop });
  }
  const outlined = style.strokeShare > 0 && textLeft - strokeInset >= 0 && textTop - strokeInset >= 0 && textLeft - strokeInset + stroke.width <= width && textTop - strokeInset + stroke.height <= height;
  if (outlined) {
    layers.push(rawLayer(paintMask(stroke, colours.stroke), stroke.width, stroke.height, textLeft - strokeInset, textTop - strokeInset));
  }
  layers.push(rawLayer(paintMask(mask, colours.text), mask.width, mask.height, textLeft, textTop));

  const png = await sharp(image, sharpInputOptions).composite(layers).png().toBuffer();
  const drawn: DrawnTextRecord = {
    text: target,
    font: bundledFontFamily,
    size: Math.round(mask.fontSize * 100) / 100,
    box: { left: textLeft, top: textTop, width: mask.width, height: mask.height },
    colour: colours.text,
    outline: { colour: colours.stroke, width: outlined ? strokeInset : 0 },
    plate: { box, colour: colours.plate, opacity: style.plateOpacity, radius: plateRadius(box.width, box.height) },
  };
  return { png, box, textColour: colours.text, plateColour: colours.plate, drawn };
}

export interface FallbackResult {
  png: Buffer;
  score: LegibilityScore;
  box: TextBox;
  /** Index into overlayStyles of the style that read back exactly, or of the last one tried. */
  styleIndex: number;
  /**
   * What was read back: the whole image, or only the drawn text's box when texture elsewhere in the
   * image kept tesseract from reading the whole image cleanly (it then merges texture into the lines).
   */
  readBack: 'image' | 'text box';
  /** What was drawn, for the image's record. */
  drawn: DrawnTextRecord;
}

/** A model region only guides placement when OCR found something like the target there. */
const regionCerLimit = 0.5;

/**
 * Draws the target text over `image` and reads it back; tries each style in turn until OCR reads
 * the target exactly from the whole image, then, failing that, from the drawn text's box.
 * `score` is the image's own OCR score, whose box tells where the text goes.
 */
export async function applyExactTextFallback(
  reader: OcrReader,
  image: Buffer,
  target: string,
  options: { score?: LegibilityScore | null; position?: TextPosition; useRegion?: boolean } = {},
): Promise<FallbackResult> {
  const score = options.score;
  const region = options.useRegion !== false && score && score.cer < regionCerLimit ? score.bbox : null;
  const overlays: OverlayResult[] = [];
  let last: FallbackResult | null = null;
  for (let styleIndex = 0; styleIndex < overlayStyles.length; styleIndex++) {
    const overlay = await overlayExactText(image, target, { region, position: options.position, style: overlayStyles[styleIndex] });
    overlays.push(overlay);
    const readBack = await scoreImage(reader, overlay.png, target);
    last = { png: overlay.png, score: readBack, box: overlay.box, styleIndex, readBack: 'image', drawn: overlay.drawn };
    if (readBack.exactMatch) return last;
  }
  for (const [styleIndex, overlay] of overlays.entries()) {
    // Exactly the plate: any margin brings texture back in, which is what failed above.
    const readBack = await scoreImage(reader, overlay.png, target, overlay.box);
    if (readBack.exactMatch) return { png: overlay.png, score: readBack, box: overlay.box, styleIndex, readBack: 'text box', drawn: overlay.drawn };
  }
  return last!;
}
