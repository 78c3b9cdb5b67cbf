// Classifier-free guidance over a UNet output batched as [unconditional, conditional] (diffusers' order).

/** Whether a guidance scale needs the unconditional pass at all (diffusers: only when > 1). */
export function usesClassifierFreeGuidance(guidanceScale: number): boolean {
  return guidanceScale > 1;
}

/** uncond + scale · (cond − uncond), for `output` holding the two halves one after the other. */
export function applyClassifierFreeGuidance(output: Float32Array, guidanceScale: number): Float32Array {
  const n = output.length / 2;
  const guided = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const uncond = output[i];
    guided[i] = uncond + guidanceScale * (output[n + i] - uncond);
  }
  return guided;
}
