// The layout-first phase of best of N: each candidate starts from the layout picture (the target drawn
// for the preset, in the prompt's colours) and image-to-image restyles it at `strength`, so the model
// keeps letters it was shown. How a start image enters the generator's options is the pipeline's
// business, passed in as `withStartImage`.
import type { GenerateOptions } from '../protocol/generationTypes.ts';
import type { CandidatePhase } from '../legibility/bestOfN.ts';
import { withStartImageData } from '../pipeline/imageGenerator.ts';
import { renderLayoutPicture } from './layoutPicture.ts';

/**
 * Options that start generation from `png` (an RGB PNG of the job's size) at `strength`; with `mask`
 * (a PNG of the same size, white where to repaint) only that region is regenerated (inpainting).
 */
export type WithStartImage = (base: GenerateOptions, start: { png: Buffer; strength: number; mask?: Buffer }) => GenerateOptions;

/** The pipeline's way: the start image made in memory, a layout recorded as such, a masked one as inpainting. */
export const pipelineStartImage: WithStartImage = withStartImageData;

export function layoutPhase(input: { target: string; strength: number; withStartImage: WithStartImage; candidates?: number }): CandidatePhase {
  return {
    mode: 'layout',
    ...(input.candidates !== undefined ? { candidates: input.candidates } : {}),
    async prepare(base) {
      const picture = await renderLayoutPicture({ target: input.target, prompt: base.prompt, width: base.width, height: base.height });
      return {
        options: input.withStartImage(base, { png: picture.png, strength: input.strength }),
        // The box is where a repair inpaints when OCR finds no text in the restyled image.
        record: { layout: { strength: input.strength, preset: picture.preset, align: picture.align, box: picture.box } },
      };
    },
  };
}
