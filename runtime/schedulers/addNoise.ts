// diffusers' add_noise: a clean sample noised to one step of the schedule, as image-to-image starts
// from the start image's latents and inpainting re-noises the kept region after every step. Three
// forms, each in float32 like the reference: the DDPM one on ᾱ_t (DDIM, PNDM), the k-diffusion one
// x + σ·n (Euler, Euler a, LMS), and the VP one α_σ·x + σ_t·n (DPM-Solver, UniPC).
import { alphaSigma } from './multistepSchedule.ts';

const f32 = Math.fround;

function checkLengths(original: Float32Array, noise: Float32Array): void {
  if (original.length !== noise.length) {
    throw new RangeError(`add_noise: the sample has ${original.length} values and the noise ${noise.length}`);
  }
}

/** sqrt(ᾱ_t)·x + sqrt(1 - ᾱ_t)·n at training timestep t. */
export function addNoiseAtTimestep(alphasCumprod: Float32Array, timestep: number, original: Float32Array, noise: Float32Array): Float32Array {
  checkLengths(original, noise);
  const alphaProd = alphasCumprod[timestep];
  if (alphaProd === undefined) throw new RangeError(`add_noise: timestep ${timestep} is not a training timestep`);
  const a = f32(Math.sqrt(alphaProd));
  const b = f32(Math.sqrt(f32(1 - alphaProd)));
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(a * original[i]) + f32(b * noise[i]);
  return out;
}

/** x + σ·n (the k-diffusion samplers' latents carry their noise unscaled). */
export function addNoiseAtSigma(sigma: number, original: Float32Array, noise: Float32Array): Float32Array {
  checkLengths(original, noise);
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = original[i] + f32(noise[i] * sigma);
  return out;
}

/** α·x + σ_t·n with α = 1/sqrt(σ² + 1), σ_t = σ·α (the multistep solvers' VP parametrisation). */
export function addNoiseVariancePreserving(sigma: number, original: Float32Array, noise: Float32Array): Float32Array {
  checkLengths(original, noise);
  const { alpha, sigmaT } = alphaSigma(sigma);
  const out = new Float32Array(original.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(alpha * original[i]) + f32(sigmaT * noise[i]);
  return out;
}

/** The schedule entry `index` must exist (0 … timesteps.length - 1). */
export function checkScheduleIndex(index: number, length: number, name: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`${name}: step ${index} is outside the schedule of ${length} steps (call setTimesteps first)`);
  }
}
