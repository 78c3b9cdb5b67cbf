// One measurement in its own process, so that its peak memory (maxRSS) is its own: the conversion
// of one component, loading one converted graph and timing runs of it, or a whole multi-image job
// through ImageGenerator at one batch size.
// Prints one JSON line on stdout. Started by bench/runBench.ts.
import { writeFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { sessionOptionsFor, type ExecutionProviderName } from '../runtime/pipeline/executionProvider.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { attentionModeFor } from '../runtime/pipeline/providerTuning.ts';

type Component = 'text_encoder' | 'unet' | 'vae_decoder';

interface ComponentRequest {
  mode: 'convert' | 'run';
  modelDir: string;
  component: Component;
  fp16: boolean;
  /** The provider the graph is for (its attention mode depends on it); 'cpu' when absent. */
  provider?: ExecutionProviderName;
  runs?: number;
  /** For 'run': hidden size of the text encoder, latent size of the image, images per run. */
  hidden?: number;
  latentSize?: number;
  batch?: number;
}

export interface JobRequest {
  mode: 'job';
  modelDir: string;
  provider: ExecutionProviderName;
  fp16: boolean;
  numImages: number;
  batchSize: number;
  steps: number;
  size: number;
  /** Where to write the images' float pixels, one after another, for comparing batch sizes. */
  pixelsPath: string;
}

export interface JobResult {
  provider: string;
  batchSize: number;
  timingsMs: Record<string, number>;
  maxRssMiB: number;
}

type ChildRequest = ComponentRequest | JobRequest;

function maxRssMiB(): number {
  // resourceUsage().maxRSS is in kibibytes.
  return process.resourceUsage().maxRSS / 1024;
}

function randomFloats(n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

function inputsFor(request: ComponentRequest): Record<string, Tensor> {
  const latent = request.latentSize ?? 64;
  const hidden = request.hidden ?? 1024;
  const batch = request.batch ?? 1;
  if (request.component === 'text_encoder') {
    // The pipeline's batch: [negative prompt, prompt].
    const ids = new BigInt64Array(2 * 77);
    for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * 7919) % 49407);
    return { input_ids: new Tensor('int64', ids, [2, 77]) };
  }
  if (request.component === 'unet') {
    // Each image is an [unconditional, conditional] pair.
    const b = 2 * batch;
    return {
      sample: new Tensor('float32', randomFloats(b * 4 * latent * latent, 1), [b, 4, latent, latent]),
      timestep: new Tensor('float32', new Float32Array(b).fill(500), [b]),
      encoder_hidden_states: new Tensor('float32', randomFloats(b * 77 * hidden, 1), [b, 77, hidden]),
    };
  }
  return { latent_sample: new Tensor('float32', randomFloats(batch * 4 * latent * latent, 1), [batch, 4, latent, latent]) };
}

async function runJob(request: JobRequest): Promise<JobResult> {
  const generator = new ImageGenerator({ idleUnloadMs: 0 });
  try {
    const result = await generator.generate({
      modelDir: request.modelDir,
      prompt: 'a neon sign that says "OPEN 24/7" on a brick wall',
      steps: request.steps,
      guidanceScale: 7.5,
      scheduler: 'euler_a',
      width: request.size,
      height: request.size,
      seed: 1,
      numImages: request.numImages,
      batchSize: request.batchSize,
      device: request.provider,
      fp16: request.fp16,
    });
    const pixels = new Float32Array(result.images.reduce((n, image) => n + image.pixels.length, 0));
    let offset = 0;
    for (const image of result.images) {
      pixels.set(image.pixels, offset);
      offset += image.pixels.length;
    }
    await writeFile(request.pixelsPath, pixels);
    return { provider: result.provider, batchSize: result.batchSize, timingsMs: result.timingsMs, maxRssMiB: maxRssMiB() };
  } finally {
    await generator.dispose();
  }
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as ChildRequest;
  if (request.mode === 'job') {
    process.stdout.write(`${JSON.stringify(await runJob(request))}\n`);
    return;
  }
  // The graph the pipeline itself would load on this provider.
  const convertOptions = { fp16: request.fp16, attentionMode: attentionModeFor(request.provider ?? 'cpu', request.component) };
  if (request.mode === 'convert') {
    const t0 = performance.now();
    const result = await ensureConvertedComponent(request.modelDir, request.component, convertOptions);
    process.stdout.write(
      `${JSON.stringify({ ms: performance.now() - t0, maxRssMiB: maxRssMiB(), onnxPath: result.onnxPath, fromCache: result.fromCache, notes: result.notes })}\n`,
    );
    return;
  }
  const { onnxPath } = await ensureConvertedComponent(request.modelDir, request.component, convertOptions);
  const t0 = performance.now();
  const session = await InferenceSession.create(onnxPath, sessionOptionsFor(request.provider ?? 'cpu'));
  const loadMs = performance.now() - t0;
  const feeds = inputsFor(request);
  const runMs: number[] = [];
  for (let i = 0; i < (request.runs ?? 1); i++) {
    const t = performance.now();
    const out = await session.run(feeds);
    runMs.push(performance.now() - t);
    const first = Object.values(out)[0].data as Float32Array;
    if (!Number.isFinite(first[0])) throw new Error(`${request.component} produced ${first[0]}`);
  }
  await session.release();
  process.stdout.write(`${JSON.stringify({ loadMs, runMs, maxRssMiB: maxRssMiB() })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
