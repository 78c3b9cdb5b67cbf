// The few NumPy / PyTorch numerics the diffusers schedulers lean on, reproduced closely enough that
// timestep tables come out identical (they are rounded to integers, so a last-bit difference in an
// intermediate value could move a timestep) and sigma tables agree to float32 precision.

export const f32 = Math.fround;

/** np.round / torch.round: ties go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** np.linspace(start, stop, num) in float64: `i * step + start`, the last value pinned to stop. */
export function npLinspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  out[num - 1] = stop;
  return out;
}

/** np.arange(start, stop, step) for float steps: NumPy fills `start + i * (a[1] - a[0])`. */
export function npArange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  if (length === 0) return [];
  const out = [start];
  if (length === 1) return out;
  const delta = start + step - start;
  for (let i = 1; i < length; i++) out.push(start + i * delta);
  return out;
}

/**
 * torch.linspace(start, end, steps, dtype=float32) on the CPU: both ends and the step are float32,
 * the first half counts up from start and the second half down from end, and each value is
 * rounded once (the kernel fuses the multiply-add; i * step is exact in float64).
 */
export function torchLinspaceFloat32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? s + step * i : e - step * (steps - i - 1);
  return out;
}

/** np.interp(x, arange(table.length), table) for one x (the result stays float64). */
export function interpOnIntegerGrid(x: number, table: ArrayLike<number>): number {
  const last = table.length - 1;
  if (x >= last) return table[last];
  if (x <= 0) return table[0];
  const j = Math.floor(x);
  if (j === x) return table[j];
  const slope = table[j + 1] - table[j];
  return slope * (x - j) + table[j];
}

/**
 * diffusers' `_sigma_to_t`: the (fractional) training timestep whose sigma is `sigma`, by linear
 * interpolation in log-sigma. `logSigmas` is ascending with the timestep (float32 values).
 */
export function sigmaToTimestep(sigma: number, logSigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // Last index whose log-sigma is <= logSigma (0 when none is), capped so that high stays in range.
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const high = low + 1;
  const lowValue = logSigmas[low];
  const highValue = logSigmas[high];
  let w = (lowValue - logSigma) / f32(lowValue - highValue);
  w = Math.min(Math.max(w, 0), 1);
  return (1 - w) * low + w * high;
}

/** Karras et al. (2022) noise levels, rho = 7, from sigmaMax down to sigmaMin (float64). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  const rho = 7;
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return npLinspace(0, 1, steps).map((ramp) => (maxInvRho + ramp * (minInvRho - maxInvRho)) ** rho);
}

/** Noise levels evenly spaced in log-sigma, from sigmaMax down to sigmaMin (float64). */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  return npLinspace(Math.log(sigmaMax), Math.log(sigmaMin), steps).map(Math.exp);
}

/** Solves the small dense system A x = b (Gaussian elimination with partial pivoting). */
export function solveLinearSystem(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < n; r++) {
      const factor = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= factor * m[col][c];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = m[r][n];
    for (let c = r + 1; c < n; c++) sum -= m[r][c] * x[c];
    x[r] = sum / m[r][r];
  }
  return x;
}
