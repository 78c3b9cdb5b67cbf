// Wrong output must not pass for an image. NaN or Inf in the weights, an overflow in float16 graphs
// (SD 2 is known for it on real weights) or a guidance scale of 1e308 turn every value after them
// into NaN, which the PNG encoder writes as black: the text embeddings, the denoised latents and the
// decoded pixels are checked before an image is written, and the component that went wrong is named.
import { GenerationError } from './generationError.ts';

export type CheckedComponent = 'text encoder' | 'UNet' | 'VAE decoder';

/** Non-finite values (NaN or ±Inf) came out of a component. */
export class NonFiniteOutputError extends GenerationError {
  constructor(
    message: string,
    readonly component: CheckedComponent,
    /** The component ran as a float16 graph: running it again in float32 may well succeed. */
    readonly float16: boolean,
  ) {
    super(message);
    this.name = 'NonFiniteOutputError';
  }
}

/** The count of NaN and infinite values. */
export function countNonFinite(values: Float32Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) count++;
  return count;
}

/** Throws a NonFiniteOutputError naming `component` when `values` hold NaN or Inf. */
export function checkFinite(
  values: Float32Array,
  component: CheckedComponent,
  context: { float16: boolean; guidanceScale?: number; what: string },
): void {
  const bad = countNonFinite(values);
  if (bad === 0) return;
  const share = bad === values.length ? 'all' : `${bad} of ${values.length}`;
  const causes: string[] = [];
  if (context.guidanceScale !== undefined && component === 'UNet' && !(Math.abs(context.guidanceScale) <= 100)) {
    causes.push(`the guidance scale ${context.guidanceScale} is far outside what models are used with (1 to 20)`);
  }
  if (context.float16) causes.push('float16 overflow');
  causes.push(`NaN or infinite values in the model's ${component} weights`);
  throw new NonFiniteOutputError(
    `the ${component} produced NaN or infinite values (${share} of the ${context.what}): no image was written. Likely cause: ${causes.join(', or ')}`,
    component,
    context.float16,
  );
}

/**
 * Whether an image (RGB floats in [0, 1]) is all black: every value rounds to byte 0. A dark
 * image still has some value of 1/255 or more somewhere (noise, a highlight, text); one with none
 * came from an output that collapsed, not from a picture.
 */
export function isAllBlack(pixels: Float32Array): boolean {
  const threshold = 0.5 / 255;
  for (let i = 0; i < pixels.length; i++) if (!(pixels[i]! < threshold)) return false;
  return true;
}
