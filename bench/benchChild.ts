// One measurement in its own process, so that its peak memory (maxRSS) is its own and a "cold" run
// really is a fresh process: the conversion of one component, loading one converted graph and timing
// runs of it, profiling such runs (ONNX Runtime's own profile, summed per operator), or a whole
// multi-image job through ImageGenerator at one batch size, cold and then warm.
// Prints one JSON line on stdout. Started by bench/runBench.ts.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { SchedulerName } from '../runtime/protocol/generationTypes.ts';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { sessionOptionsFor, type ExecutionProviderName } from '../runtime/pipeline/executionProvider.ts';
import { ImageGenerator } from '../runtime/pipeline/imageGenerator.ts';
import { conversionOptionsForGraph, generatorOptionsForGraph, parseGraphVariants, type GraphName } from './graphVariants.ts';
import { summarizeProfile, type ProfileEvent, type ProfileSummary } from './ortProfile.ts';

type Component = 'text_encoder' | 'unet' | 'vae_decoder';

interface ComponentRequest {
  /** 'profile': like 'run', with ONNX Runtime's profiling on; the first run is left out of the sums. */
  mode: 'convert' | 'run' | 'profile';
  modelDir: string;
  component: Component;
  fp16: boolean;
  /** The provider the graph is for (its attention mode depends on it); 'cpu' when absent. */
  provider?: ExecutionProviderName;
  /** A name from graphVariants ('default' when absent). */
  graph?: string;
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
  graph?: string;
  numImages: number;
  /** Images per UNet call; the pipeline's preference for the provider when absent. */
  batchSize?: number;
  steps: number;
  size: number;
  scheduler?: SchedulerName;
  /** How many times the job runs again in the same process after the cold run (default 1). */
  warmRuns?: number;
  /** Where to write the cold run's float pixels, one image after another, for comparing runs. */
  pixelsPath: string;
}

export interface JobResult {
  provider: string;
  batchSize: number;
  /** The first job of a fresh process: sessions created, first UNet call, first image. */
  cold: Record<string, number>;
  /** The same job again with the sessions loaded. */
  warm: Record<string, number>[];
  /** Process start (Node's time origin) to the cold job's start: module loading, ONNX Runtime's initialisation. */
  processMs: number;
  maxRssMiB: number;
}

export interface ProfileResult {
  loadMs: number;
  summary: ProfileSummary;
  maxRssMiB: number;
}

/**
 * Session start-up, the three components in a fresh process: 'sequential' (the pipeline's way: one
 * after another on the main thread, which onnxruntime-node blocks while it creates or runs a session),
 * 'workers' (each component created and first run in a worker thread of its own, all at once),
 * 'save-optimized' (sequential, writing ONNX Runtime's optimized graph to `optimizedDir`) and
 * 'optimized' (sequential, from those files, with graph optimization off).
 */
export interface StartupRequest {
  mode: 'startup';
  strategy: 'sequential' | 'workers' | 'save-optimized' | 'optimized';
  modelDir: string;
  provider: ExecutionProviderName;
  fp16: boolean;
  graph?: string;
  hidden: number;
  latentSize: number;
  optimizedDir: string;
}

export interface ComponentStartup {
  component: Component;
  createMs: number;
  /** A batch-2 UNet run at an 8x8 latent before the first real one (UNet only, not with workers). */
  tinyRunMs?: number;
  firstRunMs: number;
  secondRunMs: number;
}

export interface StartupResult {
  strategy: StartupRequest['strategy'];
  /** Wall time from the first creation to the last component's first run. */
  wallMs: number;
  components: ComponentStartup[];
  maxRssMiB: number;
}

type ChildRequest = ComponentRequest | JobRequest | StartupRequest;

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

const graphOf = (graph: string | undefined): GraphName => parseGraphVariants(graph ?? 'default')[0]!;

async function runJob(request: JobRequest): Promise<JobResult> {
  const processMs = performance.now();
  const generator = new ImageGenerator({ idleUnloadMs: Infinity, ...generatorOptionsForGraph(graphOf(request.graph)) });
  try {
    const options = {
      modelDir: request.modelDir,
      prompt: 'a neon sign that says "OPEN 24/7" on a brick wall',
      steps: request.steps,
      guidanceScale: 7.5,
      scheduler: request.scheduler ?? ('euler_a' as const),
      width: request.size,
      height: request.size,
      seed: 1,
      numImages: request.numImages,
      ...(request.batchSize ? { batchSize: request.batchSize } : {}),
      device: request.provider,
      fp16: request.fp16,
    };
    const result = await generator.generate(options);
    const warm: Record<string, number>[] = [];
    for (let i = 0; i < (request.warmRuns ?? 1); i++) warm.push((await generator.generate(options)).timingsMs);
    const pixels = new Float32Array(result.images.reduce((n, image) => n + image.pixels.length, 0));
    let offset = 0;
    for (const image of result.images) {
      pixels.set(image.pixels, offset);
      offset += image.pixels.length;
    }
    await writeFile(request.pixelsPath, pixels);
    return { provider: result.provider, batchSize: result.batchSize, cold: result.timingsMs, warm, processMs, maxRssMiB: maxRssMiB() };
  } finally {
    await generator.dispose();
  }
}

/** One warm-up run and `runs` profiled runs in a session with profiling on; the profile summed per operator. */
async function profileRuns(onnxPath: string, request: ComponentRequest): Promise<ProfileResult> {
  const dir = await mkdtemp(join(tmpdir(), 'letterpress-profile-'));
  try {
    const t0 = performance.now();
    const session = await InferenceSession.create(onnxPath, {
      ...sessionOptionsFor(request.provider ?? 'cpu'),
      enableProfiling: true,
      profileFilePrefix: join(dir, 'profile'),
    });
    const loadMs = performance.now() - t0;
    const feeds = inputsFor(request);
    for (let i = 0; i < 1 + (request.runs ?? 2); i++) await session.run(feeds);
    session.endProfiling();
    await session.release();
    const file = (await readdir(dir)).find((name) => name.endsWith('.json'));
    if (!file) throw new Error('ONNX Runtime wrote no profile');
    const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[];
    return { loadMs, summary: summarizeProfile(events, 1), maxRssMiB: maxRssMiB() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const startupOrder: Component[] = ['text_encoder', 'unet', 'vae_decoder'];

async function startupPaths(request: StartupRequest): Promise<Record<Component, string>> {
  const paths = {} as Record<Component, string>;
  for (const component of startupOrder) {
    const convertOptions = { ...conversionOptionsForGraph(graphOf(request.graph), request.provider, component, request.fp16), provider: request.provider };
    paths[component] = (await ensureConvertedComponent(request.modelDir, component, convertOptions)).onnxPath;
  }
  return paths;
}

function startupSessionOptions(request: StartupRequest, component: Component): InferenceSession.SessionOptions {
  const base = sessionOptionsFor(request.provider);
  if (request.strategy === 'save-optimized') {
    return {
      ...base,
      optimizedModelFilePath: join(request.optimizedDir, component, 'model.onnx'),
      // Graphs over 2 GB must keep their weights outside the protobuf.
      extra: { session: { optimized_model_external_initializers_file_name: 'weights.bin', optimized_model_external_initializers_min_size_in_bytes: '1024' } },
    };
  }
  if (request.strategy === 'optimized') return { ...base, graphOptimizationLevel: 'disabled' };
  return base;
}

/** Creates one component's session and runs it twice (the UNet also once at a tiny size first, when `tiny`). */
async function startComponent(path: string, options: InferenceSession.SessionOptions, component: Component, request: StartupRequest, tiny: boolean): Promise<ComponentStartup> {
  const t0 = performance.now();
  const session = await InferenceSession.create(path, options);
  const createMs = performance.now() - t0;
  const shape = { component, hidden: request.hidden, latentSize: request.latentSize, batch: 1, mode: 'run' as const, modelDir: '', fp16: request.fp16 };
  let tinyRunMs: number | undefined;
  if (tiny && component === 'unet') {
    const t = performance.now();
    await session.run(inputsFor({ ...shape, latentSize: 8 }));
    tinyRunMs = performance.now() - t;
  }
  const feeds = inputsFor(shape);
  const t1 = performance.now();
  await session.run(feeds);
  const firstRunMs = performance.now() - t1;
  const t2 = performance.now();
  await session.run(feeds);
  const secondRunMs = performance.now() - t2;
  await session.release();
  return { component, createMs, ...(tinyRunMs !== undefined ? { tinyRunMs } : {}), firstRunMs, secondRunMs };
}

async function runStartup(request: StartupRequest): Promise<StartupResult> {
  const paths = await startupPaths(request);
  if (request.strategy === 'optimized') {
    for (const c of startupOrder) paths[c] = join(request.optimizedDir, c, 'model.onnx');
  }
  if (request.strategy === 'save-optimized') {
    await rm(request.optimizedDir, { recursive: true, force: true });
    for (const c of startupOrder) await mkdir(join(request.optimizedDir, c), { recursive: true });
  }
  const t0 = performance.now();
  let components: ComponentStartup[];
  if (request.strategy === 'workers') {
    components = await Promise.all(
      startupOrder.map(
        (component) =>
          new Promise<ComponentStartup>((resolvePromise, reject) => {
            const worker = new Worker(__filename, {
              // From source, the worker needs tsx's CommonJS hook (the main thread's --import does not reach it).
              ...(__filename.endsWith('.ts') ? { execArgv: ['--require', 'tsx/cjs'] } : {}),
              workerData: { path: paths[component], options: startupSessionOptions(request, component), component, request } });
            worker.once('message', (m: { ok: ComponentStartup } | { error: string }) => {
              if ('ok' in m) resolvePromise(m.ok);
              else reject(new Error(m.error));
              void worker.terminate();
            });
            worker.once('error', reject);
          }),
      ),
    );
  } else {
    components = [];
    for (const c of startupOrder) components.push(await startComponent(paths[c], startupSessionOptions(request, c), c, request, true));
  }
  return { strategy: request.strategy, wallMs: performance.now() - t0, components, maxRssMiB: maxRssMiB() };
}

async function main(): Promise<void> {
  if (!isMainThread) {
    // A startup worker: one component's session.
    const { path, options, component, request } = workerData as { path: string; options: InferenceSession.SessionOptions; component: Component; request: StartupRequest };
    try {
      parentPort!.postMessage({ ok: await startComponent(path, options, component, request, false) });
    } catch (error) {
      parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
    }
    return;
  }
  const request = JSON.parse(process.argv[2]) as ChildRequest;
  if (request.mode === 'startup') {
    process.stdout.write(`${JSON.stringify(await runStartup(request))}\n`);
    return;
  }
  if (request.mode === 'job') {
    process.stdout.write(`${JSON.stringify(await runJob(request))}\n`);
    return;
  }
  // The graph the pipeline itself would load on this provider (at the precision asked for), or the variant's.
  const provider = request.provider ?? 'cpu';
  const convertOptions = { ...conversionOptionsForGraph(graphOf(request.graph), provider, request.component, request.fp16), provider };
  if (request.mode === 'convert') {
    const t0 = performance.now();
    const result = await ensureConvertedComponent(request.modelDir, request.component, convertOptions);
    process.stdout.write(
      `${JSON.stringify({ ms: performance.now() - t0, maxRssMiB: maxRssMiB(), onnxPath: result.onnxPath, fromCache: result.fromCache, notes: result.notes })}\n`,
    );
    return;
  }
  const { onnxPath } = await ensureConvertedComponent(request.modelDir, request.component, convertOptions);
  if (request.mode === 'profile') {
    process.stdout.write(`${JSON.stringify(await profileRuns(onnxPath, request))}\n`);
    return;
  }
  const t0 = performance.now();
  const session = await InferenceSession.create(onnxPath, sessionOptionsFor(provider));
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
