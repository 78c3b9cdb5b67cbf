// Model-native text repair: the target's glyphs are drawn where the image's text is (OCR's box, or the
// layout's box), and only that region — dilated a little — is inpainted, with the image's own prompt,
// so the model restyles letters it was shown into the picture instead of leaving a pasted plate.
import sharp from 'sharp';
import type { CandidatePhase, ScoredCandidate } from '../legibility/bestOfN.ts';
import type { TextPosition } from '../protocol/generationTypes.ts';
import { overlayExactText, overlayStyles } from '../legibility/exactTextFallback.ts';
import type { TextBox } from '../png/letterpressRecord.ts';
import { isPixelBox } from '../protocol/paramsValidation.ts';
import type { WithStartImage } from './layoutPhase.ts';
import { rectangleMask } from '../pipeline/startImage.ts';

/**
 * Inpainting strength of a repair: enough for the model to repaint the drawn plate and letters in the
 * picture's style, little enough that the letters' shapes survive (issue 12; the bench's repair row).
 */
export const defaultRepairStrength = 0.6;

/** The inpainted region reaches this share of the image's shorter side past the text box, so the edge blends. */
const maskGrowth = 0.04;
/** The pipeline shrinks masks to the latent grid (8 pixels): the region is widened to whole cells. */
const latentCell = 8;

/** A model region only guides placement when OCR found something like the target there (as for the plate). */
const regionCerLimit = 0.5;

/** Where the text to repair is: OCR's box when it read something like the target, else the layout's box. */
export function repairRegion(candidate: Pick<ScoredCandidate, 'score' | 'record'> | { score: ScoredCandidate['score']; record?: Record<string, unknown> }): TextBox | null {
  const { score } = candidate;
  if (score.bbox && score.cer < regionCerLimit) return score.bbox;
  const layout = candidate.record?.layout as { box?: unknown } | undefined;
  return isPixelBox(layout?.box) ? layout.box : null;
}

/** `box` grown by `growth` of the shorter side on every edge, snapped outwards to the latent grid, inside the image. */
export function repairMaskBox(box: TextBox, width: number, height: number, growth = maskGrowth): TextBox {
  const pad = Math.round(growth * Math.min(width, height));
  const left = Math.max(0, Math.floor((box.left - pad) / latentCell) * latentCell);
  const top = Math.max(0, Math.floor((box.top - pad) / latentCell) * latentCell);
  const right = Math.min(width, Math.ceil((box.left + box.width + pad) / latentCell) * latentCell);
  const bottom = Math.min(height, Math.ceil((box.top + box.height + pad) / latentCell) * latentCell);
  return { left, top, width: right - left, height: bottom - top };
}

export interface RepairStart {
  /** The image with the target drawn over its text region (the start image of the inpainting). */
  png: Buffer;
  /** White over the region to repaint. */
  mask: Buffer;
  /** Where the glyphs were drawn. */
  textBox: TextBox;
  /** The repainted region (textBox grown and snapped to the latent grid). */
  maskBox: TextBox;
}

/** The start image and mask of a repair of `image` (any size the pipeline takes). */
export async function repairStart(image: Buffer, target: string, region: TextBox | null, position?: TextPosition): Promise<RepairStart> {
  const { width, height } = await sharp(image).metadata();
  if (!width || !height) throw new Error('cannot read the image size');
  // The region's own colours and an opaque-ish plate: the glyphs must be what the model sees there.
  const overlay = await overlayExactText(image, target, { region, position, style: overlayStyles[0] });
  const png = await sharp(overlay.png).removeAlpha().png().toBuffer();
  const maskBox = repairMaskBox(overlay.box, width, height);
  return { png, mask: await rectangleMask(width, height, maskBox), textBox: overlay.box, maskBox };
}

/**
 * The repair phase of best of N: inpaint the best candidate so far over its drawn target. Skipped
 * when there is no candidate yet (always the case in a plain job's first phase).
 */
export function repairPhase(input: {
  target: string;
  strength: number;
  withStartImage: WithStartImage;
  position?: TextPosition;
  candidates?: number;
}): CandidatePhase {
  return {
    mode: 'repair',
    ...(input.candidates !== undefined ? { candidates: input.candidates } : {}),
    async prepare(base, best) {
      if (!best) return null;
      const start = await repairStart(best.png, input.target, repairRegion(best), input.position);
      return {
        options: input.withStartImage(base, { png: start.png, strength: input.strength, mask: start.mask }),
        record: { repair: { strength: input.strength, fromSeed: best.seed, fromMode: best.mode, box: start.maskBox } },
      };
    },
  };
}
