// `npm run bench`: conversion and inference cost at the real SD2-base size, without downloading it.
// Writes random weights with the real tensor names and shapes (from the sd2-configs fixtures) into a
// temporary diffusers folder (~5 GB), converts each component and times it on the CPU provider (and
// on --device, if given), each measurement in its own child process so peak memory is its own.
// With --startup, session start-up strategies compared (sequential, worker threads, ONNX Runtime's
// saved optimized graph), each in a fresh process. With --profile, one UNet step again with ONNX Runtime's profiling on (a separate run: profiling
// slows steps): the top operators by GPU time (WebGPU's kernel timestamps; per-node kernel time on
// the CPU) and the kernels dispatched per step. Then the whole-job table: a job of 1 image and one of
// --job-images (4) images through ImageGenerator, each in a fresh process (cold: session load, first
// UNet step, first image) and again in that process (warm), on the tiny fixture model and on the
// random SD2-base one; image 1 of both jobs has the same seed, so their largest pixel difference shows
// that batching leaves images unchanged. --graph a,b runs everything on each graph (bench/graphVariants.ts).
//
//   npm run bench -- [--device webgpu|cuda|dml|coreml] [--fp16] [--no-cpu] [--graph default,...]
//                    [--profile] [--profile-runs N (3)] [--startup] [--runs N (3)] [--json <file>]
//                    [--dir <parent>] [--keep] [--fixtures <folder> (test/fixtures)]
//                    [--configs <folder with text_encoder/ unet/ vae/ config.json>]  (a quick smoke run)
//                    [--job-size px (512)] [--job-steps N (25 on a GPU, 2 on the CPU)] [--job-images N (4)]
//                    [--job-batch N (the provider's preference: 4 on GPUs, 1 on the CPU)] [--warm-runs N (1)]
//                    [--scheduler name (euler_a)] [--no-tiny] [--jobs-only (skip the per-component table)] [--no-jobs]
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deviceSettings, schedulerNames, type DeviceSetting, type SchedulerName } from '../runtime/protocol/generationTypes.ts';
import { listComponentWeights } from '../runtime/onnx/componentWeights.ts';
import type { ExecutionProviderName } from '../runtime/pipeline/executionProvider.ts';
import { writeSafetensors } from '../runtime/safetensors/safetensorsWriter.ts';
import type { JobRequest, JobResult, ProfileResult, StartupRequest, StartupResult } from './benchChild.ts';
import { parseGraphVariants } from './graphVariants.ts';
import { formatProfileSummary, type ProfileSummary } from './ortProfile.ts';

/** test/fixtures, or --fixtures (the device script carries the few files the bench needs). */
let fixtures = resolve('test/fixtures');
const components = [
  { name: 'text_encoder', folder: 'text_encoder', file: 'model.safetensors' },
  { name: 'unet', folder: 'unet', file: 'diffusion_pytorch_model.safetensors' },
  { name: 'vae_decoder', folder: 'vae', file: 'diffusion_pytorch_model.safetensors' },
] as const;

/** Timed runs; `batch` is images per run. The VAE also at 4 images: is decoding a batch at once worth its memory? */
const componentRuns = [
  { name: 'text_encoder', batch: 1, work: 'batch 2 x 77 tokens' },
  { name: 'unet', batch: 1, work: 'one step, batch 2, 512x512' },
  { name: 'vae_decoder', batch: 1, work: '1 x 512x512' },
  { name: 'vae_decoder', batch: 4, work: '4 x 512x512 in one run' },
] as const;

function fillRandom(out: Float32Array, seed: number, scale: number): void {
  let s = seed | 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
}

/** Random weights of a trained model's magnitudes: activations stay finite and no denormals slow the CPU down. */
function randomWeight(name: string, shape: readonly number[], index: number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  if (shape.length === 1) {
    if (name.endsWith('.weight')) out.fill(1);
    else fillRandom(out, index + 1, 0.01);
    return out;
  }
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  fillRandom(out, index + 1, Math.sqrt(3 / fanIn));
  return out;
}

async function writeRandomModel(modelDir: string, configsDir: string): Promise<Record<string, { params: number; bytes: number; ms: number }>> {
  const sizes: Record<string, { params: number; bytes: number; ms: number }> = {};
  await cp(join(fixtures, 'tiny-sd2', 'tokenizer'), join(modelDir, 'tokenizer'), { recursive: true });
  await cp(join(fixtures, 'tiny-sd2', 'scheduler'), join(modelDir, 'scheduler'), { recursive: true });
  await cp(join(fixtures, 'tiny-sd2', 'model_index.json'), join(modelDir, 'model_index.json'));
  for (const c of components) {
    const t0 = performance.now();
    await mkdir(join(modelDir, c.folder), { recursive: true });
    const configPath = join(configsDir, c.folder, 'config.json');
    await cp(configPath, join(modelDir, c.folder, 'config.json'));
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    const specs = listComponentWeights(c.name, config);
    const path = join(modelDir, c.folder, c.file);
    await writeSafetensors(
      path,
      specs.map((s) => ({ name: s.name, dtype: 'F32' as const, shape: s.shape })),
      (entry, index) => randomWeight(entry.name, entry.shape, index),
      { format: 'pt' },
    );
    const params = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1), 0);
    sizes[c.name] = { params, bytes: (await stat(path)).size, ms: performance.now() - t0 };
    process.stderr.write(`wrote ${c.folder}/${c.file}: ${(params / 1e6).toFixed(1)}M parameters\n`);
  }
  return sizes;
}

/** The measurement running now, ended with the bench when it is stopped (a time budget's SIGTERM). */
let runningChild: ChildProcess | undefined;

function runChild<T>(request: object): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    // Run from source through tsx, or as an esbuild bundle with benchChild.js beside it.
    const script = __filename.endsWith('.ts') ? ['--import', 'tsx', join(__dirname, 'benchChild.ts')] : [join(__dirname, 'benchChild.js')];
    const child = spawn(process.execPath, [...script, JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runningChild = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (runningChild === child) runningChild = undefined;
      const line = stdout.trim().split('\n').at(-1);
      if (code === 0 && line) resolvePromise(JSON.parse(line) as T);
      else reject(new Error(`benchmark child failed (exit ${code}): ${stderr.trim().split('\n').slice(-5).join('\n')}`));
    });
  });
}

const fmtSeconds = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);
const fmtMiB = (mib: number): string => (mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${Math.round(mib)} MiB`);
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [n, row] of rows.entries()) {
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()}\n`);
    if (n === 0) process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  }
}

type ProviderRun = { provider: ExecutionProviderName; fp16: boolean };

interface JobSettings {
  size: number;
  /** undefined: 25 on GPU providers, 2 on the CPU. */
  steps: number | undefined;
  images: number;
  /** undefined: the provider's preference. */
  batch: number | undefined;
  warmRuns: number;
  scheduler: SchedulerName;
  tiny: boolean;
}

/** Everything measured, for --json. */
interface BenchReport {
  startedAt: string;
  machine: { cpu: string; cores: number; memoryGiB: number; platform: string; node: string; onnxruntime: string };
  argv: string[];
  components: Record<string, unknown>[];
  profiles: (Record<string, unknown> & { summary: ProfileSummary })[];
  startup: (StartupResult & { provider: string; fp16: boolean; graph: string })[];
  jobs: Record<string, unknown>[];
  errors: string[];
}

/** A job's timings, as the table and the JSON file give them. */
function jobFigures(t: Record<string, number>, calls: number): Record<string, number> {
  const firstStep = t.firstStep ?? 0;
  return {
    loadMs: t.load ?? 0,
    textEncoderMs: t.textEncoder ?? 0,
    firstStepMs: firstStep,
    // The UNet calls after the first (each call denoises one batch of images by one step).
    stepMs: calls > 1 ? ((t.denoise ?? 0) - firstStep) / (calls - 1) : firstStep,
    decodeMs: t.decode ?? 0,
    firstImageMs: t.firstImage ?? 0,
    totalMs: t.total ?? 0,
  };
}

/**
 * The whole-job table: jobs of 1 and `job.images` images, each in a fresh process (cold) and again in
 * it (warm), on the tiny fixture model (mostly per-call overhead) and on the random SD2-base weights.
 */
async function benchJobs(
  sd2Dir: string,
  sd2Label: string,
  providers: ProviderRun[],
  graphs: string[],
  job: JobSettings,
  report: BenchReport,
): Promise<void> {
  const models = [
    ...(job.tiny ? [{ label: 'tiny fixture', dir: join(fixtures, 'tiny-sd2'), size: 128, steps: (_: ExecutionProviderName) => 8 }] : []),
    { label: sd2Label, dir: sd2Dir, size: job.size, steps: (p: ExecutionProviderName) => job.steps ?? (p === 'cpu' ? 2 : 25) },
  ];
  const counts = [...new Set([1, job.images])];
  const rows = [['model', 'provider', 'graph', 'job', 'batch', 'run', 'load', 'first step', 'step', 'first image', 'total', 'since process start', 'peak RSS', 'img 1 max |Δ|']];
  for (const model of models) {
    for (const { provider, fp16 } of providers) {
      for (const graph of graphs) {
        const steps = model.steps(provider);
        let firstImagePixels: Float32Array | undefined;
        try {
          // Convert first (a no-op when cached), so that the jobs' load time is session creation only.
          for (const component of components) {
            await runChild({ mode: 'convert', modelDir: model.dir, component: component.name, fp16: fp16 && provider !== 'cpu', provider, graph });
          }
        } catch (error) {
          report.errors.push(`convert ${model.label} ${provider} ${graph}: ${(error as Error).message}`);
          process.stderr.write(`${(error as Error).message}\n`);
          continue;
        }
        for (const images of counts) {
          const pixelsPath = join(sd2Dir, `job-pixels-${provider}-${images}.f32`);
          const batch = job.batch ? Math.min(job.batch, images) : undefined;
          process.stderr.write(`job on ${model.label}: ${images} image(s) at ${model.size}x${model.size}, ${steps} steps, ${provider}, graph ${graph}…\n`);
          const request: JobRequest = {
            mode: 'job',
            modelDir: model.dir,
            provider,
            fp16,
            graph,
            numImages: images,
            ...(batch ? { batchSize: batch } : {}),
            steps,
            size: model.size,
            scheduler: job.scheduler,
            warmRuns: job.warmRuns,
            pixelsPath,
          };
          let result: JobResult;
          try {
            result = await runChild<JobResult>(request);
          } catch (error) {
            report.errors.push(`job ${model.label} ${provider} ${graph} ${images}: ${(error as Error).message}`);
            process.stderr.write(`${(error as Error).message}\n`);
            continue;
          }
          const bytes = await readFile(pixelsPath);
          await rm(pixelsPath, { force: true });
          const pixels = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
          const perImage = model.size * model.size * 3;
          let diff = '-';
          let maxDiff: number | undefined;
          if (firstImagePixels) {
            maxDiff = 0;
            for (let i = 0; i < perImage; i++) maxDiff = Math.max(maxDiff, Math.abs(pixels[i] - firstImagePixels[i]));
            diff = maxDiff === 0 ? '0 (identical)' : maxDiff.toExponential(2);
          } else {
            firstImagePixels = pixels.slice(0, perImage);
          }
          const calls = steps * Math.ceil(images / result.batchSize);
          const runs = [
            { run: 'cold', t: result.cold, since: result.processMs },
            ...result.warm.map((t, i) => ({ run: result.warm.length > 1 ? `warm ${i + 1}` : 'warm', t, since: undefined })),
          ];
          for (const [k, r] of runs.entries()) {
            const f = jobFigures(r.t, calls);
            rows.push([
              k === 0 ? model.label : '',
              k === 0 ? `${result.provider} ${fp16 && result.provider !== 'cpu' ? 'fp16' : 'fp32'}` : '',
              k === 0 ? graph : '',
              k === 0 ? `${images} x ${model.size}², ${steps} steps` : '',
              k === 0 ? String(result.batchSize) : '',
              r.run,
              fmtSeconds(f.loadMs),
              fmtSeconds(f.firstStepMs),
              fmtSeconds(f.stepMs),
              fmtSeconds(f.firstImageMs),
              fmtSeconds(f.totalMs),
              r.since !== undefined ? fmtSeconds(r.since + f.firstImageMs) : '',
              k === 0 ? fmtMiB(result.maxRssMiB) : '',
              k === 0 ? diff : '',
            ]);
            report.jobs.push({
              model: model.label,
              provider: result.provider,
              fp16: fp16 && result.provider !== 'cpu',
              graph,
              images,
              size: model.size,
              steps,
              scheduler: job.scheduler,
              batch: result.batchSize,
              run: r.run,
              ...f,
              ...(r.since !== undefined ? { processStartMs: r.since, firstImageSinceProcessStartMs: r.since + f.firstImageMs } : {}),
              peakRssMiB: result.maxRssMiB,
              ...(maxDiff !== undefined ? { firstImageMaxAbsDiffVsOneImageJob: maxDiff } : {}),
            });
          }
        }
      }
    }
  }
  process.stdout.write('\n');
  printTable(rows);
  process.stdout.write(
    `\njobs: ${job.scheduler}, guidance 7.5. cold = the first job of a fresh process (graphs already converted): load is session creation; ` +
      'warm = the same job again with the sessions loaded. first step: the first UNet call (lazy initialisation); step: the mean of the other calls ' +
      '(one call denoises a batch of images by one step); first image: job start to the first decoded image; since process start: ' +
      'adds module loading and ONNX Runtime start-up. img 1 max |Δ|: image 1 (same seed) against the 1-image job.\n',
  );
}

async function benchProfiles(modelDir: string, hidden: number, providers: ProviderRun[], graphs: string[], runs: number, report: BenchReport): Promise<void> {
  for (const { provider, fp16 } of providers) {
    for (const graph of graphs) {
      process.stderr.write(`profiling one UNet step on ${provider}, graph ${graph}…\n`);
      try {
        await runChild({ mode: 'convert', modelDir, component: 'unet', fp16, provider, graph });
        const result = await runChild<ProfileResult>({ mode: 'profile', modelDir, component: 'unet', fp16, provider, graph, runs, hidden, latentSize: 64, batch: 1 });
        process.stdout.write(`\nprofile: UNet step (batch 2, 512x512) on ${provider} ${fp16 ? 'fp16' : 'fp32'}, graph ${graph}\n`);
        for (const line of formatProfileSummary(result.summary)) process.stdout.write(`${line}\n`);
        if (result.summary.programs.length > 0) {
          process.stdout.write(`top GPU programs: ${result.summary.programs.slice(0, 8).map((p) => `${p.op} ${(p.share * 100).toFixed(1)}%`).join(', ')}\n`);
        }
        report.profiles.push({ provider, fp16, graph, component: 'unet', work: 'one step, batch 2, 512x512', loadMs: result.loadMs, summary: result.summary });
      } catch (error) {
        report.errors.push(`profile ${provider} ${graph}: ${(error as Error).message}`);
        process.stderr.write(`${(error as Error).message}\n`);
      }
    }
  }
}

/**
 * Session start-up of the three components, each strategy in a fresh process (see StartupRequest):
 * what parallel creation in worker threads and ONNX Runtime's saved optimized graph would gain.
 */
async function benchStartup(modelDir: string, hidden: number, providers: ProviderRun[], graphs: string[], report: BenchReport): Promise<void> {
  const strategies: StartupRequest['strategy'][] = ['sequential', 'workers', 'save-optimized', 'optimized', 'sequential'];
  const rows = [['provider', 'graph', 'strategy', 'text enc create', 'UNet create', 'VAE create', 'UNet tiny run', 'UNet 1st run', 'UNet 2nd run', 'VAE 1st run', 'wall', 'peak RSS']];
  for (const { provider, fp16 } of providers) {
    for (const graph of graphs) {
      const optimizedDir = join(modelDir, `optimized-${provider}-${graph}`);
      let saved = false;
      for (const strategy of strategies) {
        if (strategy === 'optimized' && !saved) continue;
        process.stderr.write(`session start-up on ${provider}, graph ${graph}: ${strategy}…\n`);
        const request: StartupRequest = { mode: 'startup', strategy, modelDir, provider, fp16, graph, hidden, latentSize: 64, optimizedDir };
        let result: StartupResult;
        try {
          result = await runChild<StartupResult>(request);
        } catch (error) {
          report.errors.push(`startup ${provider} ${graph} ${strategy}: ${(error as Error).message}`);
          process.stderr.write(`${(error as Error).message}\n`);
          rows.push([provider, graph, strategy, `failed: ${(error as Error).message.split('\n').at(-1)!.slice(0, 80)}`, '', '', '', '', '', '', '', '']);
          continue;
        }
        if (strategy === 'save-optimized') saved = true;
        const of = (c: string) => result.components.find((x) => x.component === c);
        const cell = (v: number | undefined) => (v === undefined ? '-' : fmtSeconds(v));
        rows.push([
          provider,
          graph,
          strategy,
          cell(of('text_encoder')?.createMs),
          cell(of('unet')?.createMs),
          cell(of('vae_decoder')?.createMs),
          cell(of('unet')?.tinyRunMs),
          cell(of('unet')?.firstRunMs),
          cell(of('unet')?.secondRunMs),
          cell(of('vae_decoder')?.firstRunMs),
          fmtSeconds(result.wallMs),
          fmtMiB(result.maxRssMiB),
        ]);
        report.startup.push({ ...result, provider, fp16, graph });
      }
    }
  }
  process.stdout.write('\n');
  printTable(rows);
  process.stdout.write(
    '\nsession start-up, each row a fresh process: sequential = the pipeline today (onnxruntime-node blocks the thread while it creates or runs a ' +
      'session); workers = each component created and run in its own worker thread, all at once (its first runs overlap the others\' creation); ' +
      'save-optimized = sequential, also writing ONNX Runtime\'s optimized graph; optimized = sequential from those graphs, optimization off. ' +
      'UNet runs: batch 2 at the bench\'s latent size (tiny run: 8x8 latent first, sequential rows only); wall: first creation to the last first run.\n',
  );
}

async function onnxruntimeVersion(): Promise<string> {
  try {
    const path = require.resolve('onnxruntime-node/package.json');
    return (JSON.parse(await readFile(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      device: { type: 'string' },
      fp16: { type: 'boolean' },
      'no-cpu': { type: 'boolean' },
      graph: { type: 'string', default: 'default' },
      profile: { type: 'boolean' },
      startup: { type: 'boolean' },
      'profile-runs': { type: 'string' },
      json: { type: 'string' },
      runs: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean' },
      fixtures: { type: 'string' },
      configs: { type: 'string' },
      'job-size': { type: 'string' },
      'job-steps': { type: 'string' },
      'job-images': { type: 'string' },
      'job-batch': { type: 'string' },
      'warm-runs': { type: 'string' },
      scheduler: { type: 'string', default: 'euler_a' },
      'no-tiny': { type: 'boolean' },
      'jobs-only': { type: 'boolean' },
      'no-jobs': { type: 'boolean' },
    },
  });
  const device = values.device as DeviceSetting | undefined;
  if (device !== undefined && (!deviceSettings.includes(device) || device === 'auto')) {
    throw new Error(`--device must be one of ${deviceSettings.filter((d) => d !== 'auto').join(', ')}`);
  }
  const wholeNumber = (name: string, text: string | undefined, fallback: number, min = 1): number => {
    const n = Number(text ?? fallback);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} expects a whole number of ${min} or more, got ${text}`);
    return n;
  };
  const graphs = parseGraphVariants(values.graph);
  const runs = wholeNumber('runs', values.runs, 3);
  const profileRuns = wholeNumber('profile-runs', values['profile-runs'], 3);
  if (!(schedulerNames as readonly string[]).includes(values.scheduler)) throw new Error(`--scheduler must be one of ${schedulerNames.join(', ')}`);
  const job: JobSettings = {
    size: wholeNumber('job-size', values['job-size'], 512, 8),
    steps: values['job-steps'] === undefined ? undefined : wholeNumber('job-steps', values['job-steps'], 25),
    images: wholeNumber('job-images', values['job-images'], 4),
    batch: values['job-batch'] === undefined ? undefined : wholeNumber('job-batch', values['job-batch'], 1),
    warmRuns: wholeNumber('warm-runs', values['warm-runs'], 1, 0),
    scheduler: values.scheduler as SchedulerName,
    tiny: !values['no-tiny'],
  };
  if (job.size % 8 !== 0) throw new Error(`--job-size must be a multiple of 8, got ${job.size}`);
  if (values['jobs-only'] && values['no-jobs'] && !values.profile && !values.startup) throw new Error('--jobs-only and --no-jobs leave nothing to measure');
  if (values['no-cpu'] && (!device || device === 'cpu')) throw new Error('--no-cpu needs --device with a GPU provider');
  if (values.fixtures) fixtures = resolve(values.fixtures);
  const jsonPath = values.json ? resolve(values.json) : undefined;
  const parent = values.dir ?? tmpdir();
  // Float32 weights (~4.8 GB) plus float16 copies when --fp16 converts them.
  const needed = values.configs ? 0 : (values.fp16 ? 7 : 5) * 2 ** 30;
  const fs = await statfs(parent);
  if (fs.bavail * fs.bsize < needed) {
    throw new Error(`${parent} has ${(fs.bavail * fs.bsize / 2 ** 30).toFixed(1)} GiB free; the benchmark needs about ${needed / 2 ** 30} GiB (choose another folder with --dir)`);
  }
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      platform: `${process.platform}-${process.arch}`,
      node: process.version,
      onnxruntime: await onnxruntimeVersion(),
    },
    argv: process.argv.slice(2),
    components: [],
    profiles: [],
    startup: [],
    jobs: [],
    errors: [],
  };
  const saveReport = async (): Promise<void> => {
    if (jsonPath) await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  };
  const modelDir = await mkdtemp(join(parent, 'letterpress-bench-'));
  // The graphs of these throwaway weights go into a cache inside the same temp folder (same disk:
  // hard links work), removed with it; the children inherit it.
  process.env.LETTERPRESS_CACHE = join(modelDir, '.letterpress-cache');
  const cleanup = async (): Promise<void> => {
    if (values.keep) process.stderr.write(`kept ${modelDir}\n`);
    else await rm(modelDir, { recursive: true, force: true });
  };
  const stop = (code: number) => {
    runningChild?.kill('SIGKILL');
    void saveReport()
      .then(cleanup)
      .finally(() => process.exit(code));
  };
  process.once('SIGINT', () => stop(130));
  process.once('SIGTERM', () => {
    process.stderr.write('bench: stopped (SIGTERM); the JSON report holds what was measured so far\n');
    stop(143);
  });
  try {
    process.stderr.write(`writing random SD2-base weights into ${modelDir}\n`);
    const sizes = await writeRandomModel(modelDir, values.configs ?? join(fixtures, 'sd2-configs'));
    const textConfig = JSON.parse(await readFile(join(modelDir, 'text_encoder', 'config.json'), 'utf8')) as { hidden_size: number };
    const hidden = textConfig.hidden_size;
    const providers: ProviderRun[] = values['no-cpu'] ? [] : [{ provider: 'cpu', fp16: false }];
    if (device && device !== 'cpu') providers.push({ provider: device as ExecutionProviderName, fp16: values.fp16 ?? false });

    if (!values['jobs-only']) {
      const rows = [['component', 'parameters', 'weights', 'precision', 'graph', 'convert', 'convert peak RSS', 'provider', 'session load', `runs (${runs}x)`, 'median after 1st', 'run peak RSS', 'work']];
      for (const { provider, fp16 } of providers) {
        for (const graph of graphs) {
          for (const c of components) {
            process.stderr.write(`converting ${c.name} (${fp16 ? 'fp16' : 'fp32'}, graph ${graph}) for ${provider}…\n`);
            const converted = await runChild<{ ms: number; maxRssMiB: number; fromCache: boolean }>({ mode: 'convert', modelDir, component: c.name, fp16, provider, graph });
            for (const r of componentRuns.filter((run) => run.name === c.name)) {
              process.stderr.write(`running ${c.name} x${r.batch} on ${provider}…\n`);
              let timed: { loadMs: number; runMs: number[]; maxRssMiB: number };
              try {
                timed = await runChild({ mode: 'run', modelDir, component: c.name, fp16, provider, graph, runs, hidden, latentSize: 64, batch: r.batch });
              } catch (error) {
                report.errors.push(`run ${c.name} x${r.batch} ${provider} ${graph}: ${(error as Error).message}`);
                process.stderr.write(`${(error as Error).message}\n`);
                continue;
              }
              const first = r.batch === 1;
              const steady = timed.runMs.length > 1 ? median(timed.runMs.slice(1)) : timed.runMs[0]!;
              rows.push([
                c.name,
                first ? `${(sizes[c.name].params / 1e6).toFixed(1)}M` : '',
                first ? fmtMiB(sizes[c.name].bytes / 2 ** 20) : '',
                fp16 ? 'fp16' : 'fp32',
                graph,
                !first ? '' : converted.fromCache ? 'cached' : fmtSeconds(converted.ms),
                !first || converted.fromCache ? '-' : fmtMiB(converted.maxRssMiB),
                provider,
                fmtSeconds(timed.loadMs),
                timed.runMs.map(fmtSeconds).join(' / '),
                fmtSeconds(steady),
                fmtMiB(timed.maxRssMiB),
                r.work,
              ]);
              report.components.push({
                component: c.name,
                provider,
                fp16,
                graph,
                work: r.work,
                batch: r.batch,
                convertMs: converted.fromCache ? null : converted.ms,
                loadMs: timed.loadMs,
                runMs: timed.runMs,
                medianAfterFirstMs: steady,
                peakRssMiB: timed.maxRssMiB,
              });
            }
          }
        }
      }
      process.stdout.write('\n');
      printTable(rows);
      process.stdout.write(
        `\nrandom weights written in ${fmtSeconds(Object.values(sizes).reduce((s, v) => s + v.ms, 0))}; ` +
          'run times list each run (the first includes one-time initialisation).\n',
      );
      await saveReport();
    }
    if (values.profile) {
      await benchProfiles(modelDir, hidden, providers, graphs, profileRuns, report);
      await saveReport();
    }
    if (values.startup) {
      await benchStartup(modelDir, hidden, providers, graphs, report);
      await saveReport();
    }
    if (!values['no-jobs']) {
      await benchJobs(modelDir, values.configs ? 'random (--configs)' : 'SD2-base random', providers, graphs, job, report);
      await saveReport();
    }
    if (report.errors.length > 0) process.stdout.write(`\n${report.errors.length} measurement(s) failed:\n${report.errors.map((e) => `  ${e}`).join('\n')}\n`);
  } finally {
    await saveReport();
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
