// `npm run bench`: conversion and inference cost at the real SD2-base size, without downloading it.
// Writes random weights with the real tensor names and shapes (from the sd2-configs fixtures) into a
// temporary diffusers folder (~5 GB), converts each component and times it on the CPU provider (and
// on --device, if given), each measurement in its own child process so peak memory is its own.
// Then a whole job of --job-images images (default 4) through ImageGenerator at batch 1 and at
// --job-batch (default 4) images per UNet call, on the tiny fixture model and on the random SD2-base
// one, with the largest pixel difference between the two batch sizes.
//
//   npm run bench -- [--device webgpu|cuda|dml|coreml] [--fp16] [--runs N] [--dir <parent>] [--keep]
//                    [--configs <folder with text_encoder/ unet/ vae/ config.json>]  (a quick smoke run)
//                    [--job-size px (512)] [--job-steps N (2)] [--job-images N (4)] [--job-batch N (4)]
//                    [--jobs-only (skip the per-component table)] [--no-jobs]
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deviceSettings, type DeviceSetting } from '../runtime/protocol/generationTypes.ts';
import { listComponentWeights } from '../runtime/onnx/componentWeights.ts';
import type { ExecutionProviderName } from '../runtime/pipeline/executionProvider.ts';
import { writeSafetensors } from '../runtime/safetensors/safetensorsWriter.ts';
import type { JobRequest, JobResult } from './benchChild.ts';

const fixtures = resolve('test/fixtures');
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

function runChild<T>(request: object): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    // Run from source through tsx, or as an esbuild bundle with benchChild.js beside it.
    const script = __filename.endsWith('.ts') ? ['--import', 'tsx', join(__dirname, 'benchChild.ts')] : [join(__dirname, 'benchChild.js')];
    const child = spawn(process.execPath, [...script, JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1);
      if (code === 0 && line) resolvePromise(JSON.parse(line) as T);
      else reject(new Error(`benchmark child failed (exit ${code}): ${stderr.trim().split('\n').slice(-5).join('\n')}`));
    });
  });
}

const fmtSeconds = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const fmtMiB = (mib: number): string => (mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${Math.round(mib)} MiB`);

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [n, row] of rows.entries()) {
    process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()}\n`);
    if (n === 0) process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  }
}

interface JobSettings {
  size: number;
  steps: number;
  images: number;
  batch: number;
}

/**
 * A job of `images` images at batch 1 and at `batch` images per UNet call, on the tiny fixture
 * model (cheap: mostly per-call overhead) and on the random SD2-base weights (the real work).
 * Images do not depend on the batch size; the table shows the largest pixel difference measured.
 */
async function benchJobs(
  sd2Dir: string,
  sd2Label: string,
  providers: { provider: ExecutionProviderName; fp16: boolean }[],
  job: JobSettings,
): Promise<void> {
  const models = [
    { label: 'tiny fixture', dir: join(fixtures, 'tiny-sd2'), size: 128, steps: 8 },
    { label: sd2Label, dir: sd2Dir, size: job.size, steps: job.steps },
  ];
  const batches = [...new Set([1, Math.min(job.batch, job.images)])];
  const rows = [['model', 'provider', 'graph', 'job', 'batch', 'load', 'denoise', 'per image-step', 'decode/image', 'total', 'peak RSS', 'max |Δ| vs batch 1']];
  for (const model of models) {
    for (const { provider, fp16 } of providers) {
      let firstPixels: Float32Array | undefined;
      let firstDenoise = 0;
      // Convert first (a no-op when cached), so that the jobs' load time is session creation only.
      for (const component of components) {
        await runChild({ mode: 'convert', modelDir: model.dir, component: component.name, fp16: fp16 && provider !== 'cpu', provider });
      }
      for (const batchSize of batches) {
        const pixelsPath = join(sd2Dir, `job-pixels-${provider}-${batchSize}.f32`);
        process.stderr.write(`job on ${model.label}: ${job.images} images at ${model.size}x${model.size}, ${model.steps} steps, batch ${batchSize}, ${provider}…\n`);
        const request: JobRequest = { mode: 'job', modelDir: model.dir, provider, fp16, numImages: job.images, batchSize, steps: model.steps, size: model.size, pixelsPath };
        const result = await runChild<JobResult>(request);
        const bytes = await readFile(pixelsPath);
        await rm(pixelsPath, { force: true });
        const pixels = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        let diff = '-';
        let speedup = '';
        if (firstPixels) {
          let max = 0;
          for (let i = 0; i < pixels.length; i++) max = Math.max(max, Math.abs(pixels[i] - firstPixels[i]));
          diff = max === 0 ? '0 (identical)' : max.toExponential(2);
          speedup = ` (x${(firstDenoise / result.timingsMs.denoise).toFixed(2)})`;
        } else {
          firstPixels = pixels;
          firstDenoise = result.timingsMs.denoise;
        }
        const t = result.timingsMs;
        rows.push([
          model.label,
          result.provider,
          fp16 && result.provider !== 'cpu' ? 'fp16' : 'fp32',
          `${job.images} x ${model.size}x${model.size}, ${model.steps} steps`,
          String(result.batchSize),
          fmtSeconds(t.load),
          `${fmtSeconds(t.denoise)}${speedup}`,
          fmtSeconds(t.denoise / (job.images * model.steps)),
          fmtSeconds(t.decode / job.images),
          fmtSeconds(t.total),
          fmtMiB(result.maxRssMiB),
          diff,
        ]);
      }
    }
  }
  process.stdout.write('\n');
  printTable(rows);
  process.stdout.write('\njobs: Euler a, guidance 7.5; load includes session creation; the speed-up is batch 1 denoise time over this row\'s.\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      device: { type: 'string' },
      fp16: { type: 'boolean' },
      runs: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean' },
      configs: { type: 'string' },
      'job-size': { type: 'string' },
      'job-steps': { type: 'string' },
      'job-images': { type: 'string' },
      'job-batch': { type: 'string' },
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
  const runs = wholeNumber('runs', values.runs, 2);
  const job = {
    size: wholeNumber('job-size', values['job-size'], 512, 8),
    steps: wholeNumber('job-steps', values['job-steps'], 2),
    images: wholeNumber('job-images', values['job-images'], 4),
    batch: wholeNumber('job-batch', values['job-batch'], 4),
  };
  if (job.size % 8 !== 0) throw new Error(`--job-size must be a multiple of 8, got ${job.size}`);
  if (values['jobs-only'] && values['no-jobs']) throw new Error('--jobs-only and --no-jobs leave nothing to measure');
  const parent = values.dir ?? tmpdir();
  // Float32 weights (~4.8 GB) plus float16 copies when --fp16 converts them.
  const needed = values.configs ? 0 : (values.fp16 ? 7 : 5) * 2 ** 30;
  const fs = await statfs(parent);
  if (fs.bavail * fs.bsize < needed) {
    throw new Error(`${parent} has ${(fs.bavail * fs.bsize / 2 ** 30).toFixed(1)} GiB free; the benchmark needs about ${needed / 2 ** 30} GiB (choose another folder with --dir)`);
  }
  const modelDir = await mkdtemp(join(parent, 'letterpress-bench-'));
  // The graphs of these throwaway weights go into a cache inside the same temp folder (same disk:
  // hard links work), removed with it; the children inherit it.
  process.env.LETTERPRESS_CACHE = join(modelDir, '.letterpress-cache');
  const cleanup = async (): Promise<void> => {
    if (values.keep) process.stderr.write(`kept ${modelDir}\n`);
    else await rm(modelDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    process.stderr.write(`writing random SD2-base weights into ${modelDir}\n`);
    const sizes = await writeRandomModel(modelDir, values.configs ?? join(fixtures, 'sd2-configs'));
    const textConfig = JSON.parse(await readFile(join(modelDir, 'text_encoder', 'config.json'), 'utf8')) as { hidden_size: number };
    const hidden = textConfig.hidden_size;
    const providers: { provider: ExecutionProviderName; fp16: boolean }[] = [{ provider: 'cpu', fp16: false }];
    if (device && device !== 'cpu') providers.push({ provider: device as ExecutionProviderName, fp16: values.fp16 ?? false });

    if (!values['jobs-only']) {
      const rows = [['component', 'parameters', 'weights', 'graph', 'convert', 'convert peak RSS', 'provider', 'session load', `run (${runs}x)`, 'run peak RSS', 'work']];
      for (const { provider, fp16 } of providers) {
        for (const c of components) {
          process.stderr.write(`converting ${c.name} (${fp16 ? 'fp16' : 'fp32'}) for ${provider}…\n`);
          const converted = await runChild<{ ms: number; maxRssMiB: number; fromCache: boolean }>({
            mode: 'convert',
            modelDir,
            component: c.name,
            fp16,
            provider,
          });
          for (const r of componentRuns.filter((run) => run.name === c.name)) {
            process.stderr.write(`running ${c.name} x${r.batch} on ${provider}…\n`);
            const timed = await runChild<{ loadMs: number; runMs: number[]; maxRssMiB: number }>({
              mode: 'run',
              modelDir,
              component: c.name,
              fp16,
              provider,
              runs,
              hidden,
              latentSize: 64,
              batch: r.batch,
            });
            const first = r.batch === 1;
            rows.push([
              c.name,
              first ? `${(sizes[c.name].params / 1e6).toFixed(1)}M` : '',
              first ? fmtMiB(sizes[c.name].bytes / 2 ** 20) : '',
              fp16 ? 'fp16' : 'fp32',
              !first ? '' : converted.fromCache ? 'cached' : fmtSeconds(converted.ms),
              !first || converted.fromCache ? '-' : fmtMiB(converted.maxRssMiB),
              provider,
              fmtSeconds(timed.loadMs),
              timed.runMs.map(fmtSeconds).join(' / '),
              fmtMiB(timed.maxRssMiB),
              r.work,
            ]);
          }
        }
      }
      process.stdout.write('\n');
      printTable(rows);
      process.stdout.write(
        `\nrandom weights written in ${fmtSeconds(Object.values(sizes).reduce((s, v) => s + v.ms, 0))}; ` +
          'run times list each run (the first includes one-time initialisation).\n',
      );
    }
    if (!values['no-jobs']) await benchJobs(modelDir, values.configs ? 'random (--configs)' : 'SD2-base random', providers, job);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
