// The boundary values of every limit in runtime/protocol/limits.ts, for the tests of each boundary
// (runtime server, webview protocol, CLI, settings): the largest valid value must pass and the
// first invalid one must be refused, at every boundary, with the numbers read from the table.
import { limits, type NumberLimit } from '../runtime/protocol/limits.ts';

export interface NumberLimitCase {
  /** The field of GenerateOptions / LegibilityOptions (and of the webview's GenerationRequest). */
  field: 'width' | 'height' | 'steps' | 'guidanceScale' | 'seed' | 'numImages' | 'batchSize' | 'candidates';
  /** Where it sits in GenerateImageParams. */
  path: readonly ['options' | 'legibility', string];
  limit: NumberLimit;
  /** The CLI flag that sets it. */
  flag: string;
}

export const numberLimitCases: readonly NumberLimitCase[] = [
  { field: 'width', path: ['options', 'width'], limit: limits.side, flag: '--width' },
  { field: 'height', path: ['options', 'height'], limit: limits.side, flag: '--height' },
  { field: 'steps', path: ['options', 'steps'], limit: limits.steps, flag: '--steps' },
  { field: 'guidanceScale', path: ['options', 'guidanceScale'], limit: limits.guidanceScale, flag: '--guidance' },
  { field: 'seed', path: ['options', 'seed'], limit: limits.seed, flag: '--seed' },
  { field: 'numImages', path: ['options', 'numImages'], limit: limits.numImages, flag: '--num-images' },
  { field: 'batchSize', path: ['options', 'batchSize'], limit: limits.batchSize, flag: '--batch-size' },
  { field: 'candidates', path: ['legibility', 'candidates'], limit: limits.candidates, flag: '--candidates' },
];

/** The smallest step past a bound: a multiple, a whole number, or a hair for real numbers. */
function stepOf(limit: NumberLimit): number {
  return limit.multipleOf ?? (limit.integer ? 1 : 0.001);
}

/** [largest valid, first invalid above, smallest valid, first invalid below]. */
export function boundaryValues(limit: NumberLimit): { maxOk: number; aboveMax: number; minOk: number; belowMin: number } {
  const step = stepOf(limit);
  return { maxOk: limit.max, aboveMax: limit.max + step, minOk: limit.min, belowMin: limit.min - step };
}

export interface TextLimitCase {
  field: 'prompt' | 'negativePrompt' | 'target';
  path: readonly ['options' | 'legibility', string];
  maxChars: number;
  flag: string;
}

export const textLimitCases: readonly TextLimitCase[] = [
  { field: 'prompt', path: ['options', 'prompt'], maxChars: limits.prompt.maxChars, flag: '--prompt' },
  { field: 'negativePrompt', path: ['options', 'negativePrompt'], maxChars: limits.prompt.maxChars, flag: '--negative-prompt' },
  { field: 'target', path: ['legibility', 'target'], maxChars: limits.targetText.maxChars, flag: '--text' },
];
