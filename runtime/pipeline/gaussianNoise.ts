// Seeded standard-normal noise for initial latents and ancestral schedulers.
// These seeds are Letterpress's own (xoshiro128** seeded through splitmix64, Box-Muller): the same
// seed gives the same image on every platform and provider, but not the image PyTorch's generator
// would give for that seed.

const MASK64 = (1n << 64n) - 1n;

function splitmix64(state: bigint): [next: bigint, out: bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

export interface GaussianNoise {
  /** n independent samples of N(0, 1). */
  randn(n: number): Float32Array;
  /** One uniform sample in [0, 1). */
  uniform(): number;
}

export function createGaussianNoise(seed: number | bigint): GaussianNoise {
  if (typeof seed === 'number' && (!Number.isSafeInteger(seed) || seed < 0)) {
    throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  }
  let sm = BigInt(seed) & MASK64;
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i += 2) {
    const [next, out] = splitmix64(sm);
    sm = next;
    s[i] = Number(out & 0xffffffffn);
    s[i + 1] = Number(out >> 32n);
  }
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  // 53-bit uniform in [0, 1) from two draws.
  const uniform = (): number => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992;

  return {
    uniform,
    randn(n: number): Float32Array {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i += 2) {
        // 1 - u keeps the logarithm's argument in (0, 1].
        const r = Math.sqrt(-2 * Math.log(1 - uniform()));
        const theta = 2 * Math.PI * uniform();
        out[i] = r * Math.cos(theta);
        if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
      }
      return out;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
