// How each family of diffusers schedulers picks its inference timesteps (`timestep_spacing`). The
// families differ in small ways (integer or float32 values, n or n + 1 points, where steps_offset
// applies) that all show up in the reference tables, so each keeps its own function.
import { npArange, npLinspace, roundHalfEven } from './referenceNumerics.ts';
import { refusedName } from './schedulerConfigCheck.ts';

// Float32 rounding; a local binding keeps the hot loops free of cross-module lookups.
const f32 = Math.fround;

export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export function checkStepCount(steps: number, numTrainTimesteps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  if (steps > numTrainTimesteps) {
    throw new RangeError(`steps (${steps}) cannot exceed the model's num_train_timesteps (${numTrainTimesteps})`);
  }
}

function unknownSpacing(spacing: string): Error {
  return refusedName('timestep_spacing', ['leading', 'trailing', 'linspace'], spacing);
}

/** DDIM (and PNDM, reversed): integer timesteps, descending. */
export function alphaTimesteps(spacing: string, trainSteps: number, steps: number, stepsOffset: number): number[] {
  switch (spacing) {
    case 'linspace':
      return npLinspace(0, trainSteps - 1, steps).map(roundHalfEven).reverse();
    case 'leading': {
      const ratio = Math.floor(trainSteps / steps);
      return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return npArange(trainSteps, 0, -trainSteps / steps).map((t) => roundHalfEven(t) - 1);
    default:
      throw unknownSpacing(spacing);
  }
}

/** Euler, Euler ancestral, LMS: float32 timesteps, descending. */
export function sigmaTimesteps(spacing: string, trainSteps: number, steps: number, stepsOffset: number): number[] {
  switch (spacing) {
    case 'linspace':
      return npLinspace(0, trainSteps - 1, steps).map(f32).reverse();
    case 'leading': {
      const ratio = Math.floor(trainSteps / steps);
      return Array.from({ length: steps }, (_, i) => f32((steps - 1 - i) * ratio) + stepsOffset);
    }
    case 'trailing':
      return npArange(trainSteps, 0, -trainSteps / steps).map((t) => f32(roundHalfEven(t)) - 1);
    default:
      throw unknownSpacing(spacing);
  }
}

/**
 * DPM-Solver multistep and UniPC: integer timesteps, descending; linspace and leading place n + 1
 * points and drop the last (t = 0). `lastTimestep` is below trainSteps only when DPM-Solver clips
 * lambda.
 */
export function multistepTimesteps(
  spacing: string,
  trainSteps: number,
  lastTimestep: number,
  steps: number,
  stepsOffset: number,
): number[] {
  switch (spacing) {
    case 'linspace':
      return npLinspace(0, lastTimestep - 1, steps + 1).map(roundHalfEven).reverse().slice(0, steps);
    case 'leading': {
      const ratio = Math.floor(lastTimestep / (steps + 1));
      return Array.from({ length: steps }, (_, i) => (steps - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return npArange(lastTimestep, 0, -trainSteps / steps).map((t) => roundHalfEven(t) - 1);
    default:
      throw unknownSpacing(spacing);
  }
}
