// The one table of Letterpress's limits: what a job may ask for, read by the runtime's request
// validators, the CLI, the webview form and protocol, the host's settings and package.json's
// `contributes.configuration` (a unit test compares them). Change a number here and every boundary
// moves with it; nothing else may spell these numbers.

/** A numeric range, both ends included. */
export interface NumberLimit {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only. */
  readonly integer: boolean;
  /** The value must be a multiple of this (image sides: the VAE works on 8×8 pixel blocks). */
  readonly multipleOf?: number;
}

/** A text length in UTF-16 code units (what `String.length` and an input's `maxlength` count). */
export interface TextLimit {
  readonly maxChars: number;
}

export const limits = {
  /**
   * Image width and height. 2048 is four times SD2-base's 512 on each side (a 2048² image costs
   * 16× the work of a 512² one per step: about half a minute per step on a 16-core CPU, see
   * `sizeCostNote`); larger ones exhaust GPU memory in the VAE decoder.
   */
  side: { min: 64, max: 2048, integer: true, multipleOf: 8 },
  /**
   * Denoising steps. 150 is AUTOMATIC1111's maximum; every scheduler runs it on a 1000-timestep
   * model (tested per scheduler). At 1000 the leading spacing with steps_offset 1 reaches timestep
   * 1000, which does not exist (diffusers fails the same way).
   */
  steps: { min: 1, max: 150, integer: true },
  /** Classifier-free guidance scale; 1 or less turns guidance off. */
  guidanceScale: { min: 0, max: 30, integer: false },
  /**
   * Seeds as AUTOMATIC1111 writes them (an unsigned 32-bit number); image i of a job uses
   * imageSeed(seed, i): seed + i, wrapping past the maximum to 0.
   */
  seed: { min: 0, max: 2 ** 32 - 1, integer: true },
  /** Images from one prompt in one job. */
  numImages: { min: 1, max: 8, integer: true },
  /** Most images denoised together in one UNet call (never more than a job holds). */
  batchSize: { min: 1, max: 8, integer: true },
  /** Best of N: seeds tried and ranked by OCR; 0 = auto (4 on a GPU, 1 on the CPU). */
  candidates: { min: 0, max: 16, integer: true },
  /** Image-to-image: how much of the start image is re-noised (0 keeps it, 1 replaces it). */
  strength: { min: 0, max: 1, integer: false },
  /**
   * Layout-first text's image-to-image strength: below 0.05 a 25-step run repaints nothing (diffusers'
   * get_timesteps keeps int(steps × strength) steps), so the drawn layout would come back unchanged.
   */
  layoutStrength: { min: 0.05, max: 1, integer: false },
  /** A start image or mask handed over in memory (a PNG of the largest side is far smaller). */
  startImageBytes: { maxBytes: 64 * 1024 * 1024 },
  /**
   * Prompt and negative prompt. CLIP reads only the first `promptTokens` tokens; the rest is a
   * courtesy for long descriptions. The bound also keeps the CLI's command line far below what
   * onnxruntime-node survives (see `commandLineChars`).
   */
  prompt: { maxChars: 4000 },
  /** Tokens CLIP reads (77 with its start and end tokens); more are cut off with a warning. */
  promptTokens: 75,
  /** The text an image must show (a sign or a banner, not a paragraph); one number everywhere. */
  targetText: { maxChars: 200 },
  /** An existing image to draw exact text on: below the minimum OCR cannot read the letters back. */
  drawImageSide: { min: 64, max: 4096, integer: true },
  /** Export: the largest colour distance (RGB, Euclidean: 0 to √(3·255²) ≈ 441) still taken for the flat background. */
  exportTolerance: { min: 0, max: 441, integer: false },
  /** Export "SVG (traced)": the colours the tracer may use (2: a logo's ink and ground). */
  exportColours: { min: 2, max: 64, integer: true },
  /** …and how many when the caller does not say. */
  exportColoursDefault: 8,
  /** Export into a new folder: `<name>`, `<name>-2`, … up to this many are tried before giving up. */
  exportFolders: 100,
  /**
   * Ids of the graph cache's entries (`<model folder>/<graph folder>`: a hub id and a commit fit well
   * within it), and how many one removal may name (a cache holds a few dozen).
   */
  cacheEntryId: { maxChars: 300 },
  cacheEntriesPerRemoval: 10_000,
  /** The host's `letterpress.idleUnloadMinutes` (a week at most: Node's timers hold 24.8 days). */
  idleUnloadMinutes: { min: 0, max: 10_080, integer: false },
  /**
   * The whole command line of `letterpress` (arguments joined by spaces). onnxruntime-node 1.30's
   * native side crashes with SIGSEGV when it creates its first session in a process whose command
   * line is longer than about 28.8 KB, whatever the arguments are; the CLI refuses more than this.
   */
  commandLineChars: 16_384,
} as const satisfies Record<string, NumberLimit | TextLimit | { maxBytes: number } | number>;

/**
 * The seed of image (or candidate) `index` of a job that starts at `seed`: seed + index, wrapped
 * modulo 2^32 past the largest seed, so a job near the top (4294967295 with 4 images: …95, 0, 1, 2)
 * runs instead of failing, and every image's recorded seed is a valid seed that makes it again on its
 * own. The one rule for the runtime's images, best-of-N candidates, repairs and the CLI's file names.
 */
export function imageSeed(seed: number, index: number): number {
  const span = limits.seed.max - limits.seed.min + 1;
  return limits.seed.min + ((((seed - limits.seed.min + index) % span) + span) % span);
}

/**
 * A seed drawn at random, uniformly over the whole seed range, from the platform's cryptographic
 * generator (`crypto` is a global in Node and in the webview alike). The one way the host, the CLI
 * and the gallery pick a seed the user left open. `fill` is there for tests: it fills the array
 * with the 32-bit words to use.
 */
export function randomSeed(fill: (words: Uint32Array<ArrayBuffer>) => void = (words) => void crypto.getRandomValues(words)): number {
  const span = limits.seed.max - limits.seed.min + 1;
  // The range is 2^32 wide today, so one word is exactly uniform; a narrower range rejects the
  // words above its last whole multiple so that no seed is likelier than another.
  const ceiling = 2 ** 32 - (2 ** 32 % span);
  const words = new Uint32Array(1);
  for (;;) {
    fill(words);
    if (words[0] < ceiling) return limits.seed.min + (words[0] % span);
  }
}

export type LimitName = { [K in keyof typeof limits]: (typeof limits)[K] extends NumberLimit ? K : never }[keyof typeof limits];

/** "a whole number from 1 to 150", "a multiple of 8 from 64 to 2048", "a number from 0 to 30". */
export function describeLimit(limit: NumberLimit): string {
  const kind = limit.multipleOf ? `a multiple of ${limit.multipleOf}` : limit.integer ? 'a whole number' : 'a number';
  return `${kind} from ${limit.min} to ${limit.max}`;
}

/** True when `value` is inside `limit`. */
export function withinLimit(limit: NumberLimit, value: unknown): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (limit.integer && !Number.isSafeInteger(value)) return false;
  if (limit.multipleOf && value % limit.multipleOf !== 0) return false;
  return value >= limit.min && value <= limit.max;
}

/** Undefined when inside, else what is wrong: "must be a whole number from 1 to 150, got 151". */
export function numberProblem(limit: NumberLimit, value: unknown): string | undefined {
  if (withinLimit(limit, value)) return undefined;
  const got = typeof value === 'number' ? String(value) : typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  return `must be ${describeLimit(limit)}, got ${got}`;
}

/** Undefined when the text fits, else "is 4001 characters long; at most 4000". */
export function textProblem(limit: TextLimit, value: string): string | undefined {
  return value.length > limit.maxChars ? `is ${value.length} characters long; at most ${limit.maxChars}` : undefined;
}

/**
 * What one denoising step costs at this size relative to SD2-base's 512×512: the UNet's work grows
 * with the number of latent pixels (attention faster still), so 1024² is at least 4×, 2048² 16×.
 */
export function sizeCostFactor(width: number, height: number): number {
  return (width * height) / (512 * 512);
}

/** A CPU user's warning for large sizes (measured: a 512² step takes 1.7–1.9 s on 16 CPU cores). */
export function sizeCostNote(width: number, height: number): string | undefined {
  const factor = sizeCostFactor(width, height);
  if (factor <= 1) return undefined;
  const seconds = Math.round(1.8 * factor);
  return `${width}×${height} is ${factor.toFixed(factor < 10 ? 1 : 0)}× the work of 512×512 per step: on the CPU at least ${seconds} s a step (16 cores), more with attention`;
}

/**
 * The output size for a start image of `own` size when none is asked for: its own size scaled to fit
 * the side limits (the longest side at most the maximum, the shortest at least the minimum), rounded
 * down to multiples of 8 as diffusers rounds a start image's size.
 */
export function startImageOutputSize(own: { width: number; height: number }): { width: number; height: number } {
  const { min, max } = limits.side;
  const multiple = limits.side.multipleOf;
  const scale = Math.min(max / Math.max(own.width, own.height), Math.max(1, min / Math.min(own.width, own.height)));
  const fit = (v: number) => Math.min(max, Math.max(min, Math.max(multiple, Math.floor(Math.floor(v * scale) / multiple) * multiple)));
  return { width: fit(own.width), height: fit(own.height) };
}
