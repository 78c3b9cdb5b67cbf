// safetensors → ONNX for one pipeline component, cached next to the model.
//
// Cache layout: <cacheRoot>/<component>-<fp32|fp16>-<key>/{model.onnx, weights.safetensors,
// identity.json}, where the key hashes the source files' identity (real path, size, mtime), the
// config, the graph options and the converter version; a new conversion removes the one it supersedes. The float32 graph uses the diffusers file in place (a hard link to it, so ORT's
// "external data stays inside the model folder" rule holds even for hub-cache symlinks); a float16
// graph, or a float32 graph from float16 weights, gets a cast copy written tensor by tensor. Each
// conversion is written into a temp folder that is renamed into place, so a crash never leaves a
// half cache behind.
import { createHash } from 'node:crypto';
import { access, constants, link, mkdir, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { ProgressListener } from '../protocol/generationTypes.ts';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../safetensors/float16.ts';
import { openSafetensors, type SafetensorsFile } from '../safetensors/safetensorsFile.ts';
import { writeSafetensors } from '../safetensors/safetensorsWriter.ts';
import { randomName, writeNewFile } from '../files/newFiles.ts';
import { chooseWeights, findComponentFiles, readComponentConfig, type MatchedTensor } from './componentSource.ts';
import { GraphBuilder, type AttentionMode, type LinearMode, type ResolvedWeight } from './graphBuilder.ts';
import type { ComponentName, JsonConfig } from './modelArchitecture.ts';
import { encodeModel } from './onnxSchema.ts';
import { buildTextEncoderGraph } from './textEncoderGraph.ts';
import { buildUnetGraph } from './unetGraph.ts';
import { buildVaeDecoderGraph } from './vaeDecoderGraph.ts';
import { buildVaeEncoderGraph } from './vaeEncoderGraph.ts';

/** Bump when graphs change, so older caches are not reused. */
export const converterVersion = 2;

export interface ConvertOptions {
  fp16?: boolean;
  /** Which weights file to convert from when both exist; defaults to the graph's precision
   *  ('fp16' = the .fp16.safetensors variant). A file that fails validation is skipped, with a note. */
  variant?: 'fp16' | 'fp32';
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  linearMode?: LinearMode;
  /** Default: 'fused' for the UNet (SD2-base, batch 2, 512x512 on an H100: 125-130 ms a step on
   *  WebGPU in float16 against 168-203 ms plain; 1.7-1.9 s against 2.6 s on 16 CPU cores, with a
   *  4.1 GB peak instead of 6.6 GB); 'plain' elsewhere. Providers without com.microsoft
   *  MultiHeadAttention (DirectML, CoreML) should ask for 'plain' (the pipeline does: attentionModeFor
   *  in runtime/pipeline/providerTuning.ts). */
  attentionMode?: AttentionMode;
}

export function defaultAttentionMode(component: ComponentName): AttentionMode {
  return component === 'unet' ? 'fused' : 'plain';
}

export interface ConvertedComponent {
  onnxPath: string;
  fromCache: boolean;
  notes: string[];
}

const weightsFileName = 'weights.safetensors';

export function buildComponentModel(
  component: ComponentName,
  config: JsonConfig,
  options: { fp16: boolean; weights: (name: string) => ResolvedWeight; linearMode?: LinearMode; attentionMode?: AttentionMode },
) {
  const b = new GraphBuilder({
    name: component,
    computeType: options.fp16 ? 'float16' : 'float32',
    weights: options.weights,
    linearMode: options.linearMode,
    attentionMode: options.attentionMode,
  });
  if (component === 'text_encoder') buildTextEncoderGraph(b, config);
  else if (component === 'unet') buildUnetGraph(b, config);
  else if (component === 'vae_encoder') buildVaeEncoderGraph(b, config);
  else buildVaeDecoderGraph(b, config);
  return b.toModel({ 'letterpress.component': component, 'letterpress.converter_version': String(converterVersion) });
}

async function writable(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** `<modelDir>/.letterpress/onnx`, else beside a hub cache's repo folder, else the user's cache. */
async function cacheRoot(modelDir: string): Promise<string> {
  const inModel = join(modelDir, '.letterpress', 'onnx');
  if (await writable(inModel)) return inModel;
  const real = await realpath(modelDir);
  const snapshots = dirname(real);
  if (basename(snapshots) === 'snapshots') {
    const besideRepo = join(dirname(snapshots), 'letterpress-onnx', basename(real));
    if (await writable(besideRepo)) return besideRepo;
  }
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 16);
  const fallback = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'letterpress', 'onnx', hash);
  if (await writable(fallback)) return fallback;
  throw new Error(`no writable folder for converted models (tried ${inModel} and ${fallback})`);
}

async function fileIdentity(path: string | null) {
  if (!path) return null;
  const real = await realpath(path);
  const s = await stat(real);
  return { real, size: s.size, mtimeMs: s.mtimeMs };
}

const identityFileName = 'identity.json';

/** What makes two conversions interchangeable apart from their sources (and the converter version). */
const graphOptions = ['component', 'fp16', 'variant', 'linearMode', 'attentionMode'] as const;

/**
 * After a component was converted again because its sources (or the converter) changed, the older
 * conversion with the same graph options can never be used again: remove it. A float32 cache holds
 * hard links to the old weights, so this also frees the disk space of weights replaced since. Other
 * graph options (float16, plain attention for another provider) stay. A folder that cannot be
 * removed now (in use on Windows) is left for the next time.
 */
async function removeSupersededConversions(root: string, keep: string, identity: Record<string, unknown>): Promise<void> {
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const dir = join(root, name);
    if (dir === keep || name.startsWith('.') || !name.startsWith(`${identity.component}-`)) continue;
    const other = await readFile(join(dir, identityFileName), 'utf8').then(
      (text) => JSON.parse(text) as Record<string, unknown>,
      () => null,
    );
    if (!other || !graphOptions.every((key) => other[key] === identity[key])) continue;
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Temp folders of conversions that died (crash, kill) more than a day ago. */
async function removeStaleTempDirs(root: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith('.tmp-')) continue;
    const path = join(root, name);
    const info = await stat(path).catch(() => null);
    if (info && info.mtimeMs < dayAgo) await rm(path, { recursive: true, force: true }).catch(() => {});
  }
}

/** Hard link (no copy, same bytes); a copy where linking is refused, e.g. across file systems. */
async function linkOrCopy(source: string, target: string): Promise<void> {
  try {
    await link(source, target);
  } catch {
    await writeNewFile(target, { copyOf: source });
  }
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const error = new Error('conversion cancelled');
    error.name = 'AbortError';
    throw error;
  }
}

function targetDtype(fp16: boolean) {
  return fp16 ? ('F16' as const) : ('F32' as const);
}

async function castTensor(file: SafetensorsFile, tensor: MatchedTensor, fp16: boolean): Promise<ArrayBufferView> {
  if (tensor.info.dtype === targetDtype(fp16)) return file.readBytes(tensor.info.name);
  if (fp16) return float32ToFloat16Bits(await file.readFloat32(tensor.info.name));
  if (tensor.info.dtype === 'F16') {
    const bytes = await file.readBytes(tensor.info.name);
    return float16BitsToFloat32(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2));
  }
  return file.readFloat32(tensor.info.name);
}

/** Converts into `outDir` (which must exist and be empty). */
export async function convertComponentInto(
  outDir: string,
  component: ComponentName,
  config: JsonConfig,
  source: { path: string; tensors: MatchedTensor[] },
  options: ConvertOptions,
): Promise<void> {
  const fp16 = options.fp16 === true;
  const dtype = targetDtype(fp16);
  const total = source.tensors.length + 1;
  const progress = (done: number) => options.onProgress?.({ status: 'convert', component, done, total });
  progress(0);
  const weightsPath = join(outDir, weightsFileName);
  const byName = new Map<string, ResolvedWeight>();

  if (source.tensors.every((t) => t.info.dtype === dtype)) {
    await linkOrCopy(await realpath(source.path), weightsPath);
    for (const t of source.tensors) {
      byName.set(t.spec.name, { dtype: fp16 ? 'float16' : 'float32', shape: t.spec.shape, location: weightsFileName, offset: t.info.byteOffset, length: t.info.byteLength });
    }
    progress(source.tensors.length);
  } else {
    const file = await openSafetensors(source.path);
    try {
      await writeSafetensors(
        weightsPath,
        source.tensors.map((t) => ({ name: t.spec.name, dtype, shape: t.spec.shape })),
        async (_entry, index) => {
          throwIfAborted(options.signal);
          const data = await castTensor(file, source.tensors[index]!, fp16);
          progress(index + 1);
          return data;
        },
        { format: 'pt', converted_by: 'letterpress' },
      );
    } finally {
      await file.close();
    }
    const written = await openSafetensors(weightsPath);
    try {
      for (const [name, info] of written.tensors) {
        byName.set(name, { dtype: fp16 ? 'float16' : 'float32', shape: info.shape, location: weightsFileName, offset: info.byteOffset, length: info.byteLength });
      }
    } finally {
      await written.close();
    }
  }
  throwIfAborted(options.signal);

  const model = buildComponentModel(component, config, {
    fp16,
    linearMode: options.linearMode,
    attentionMode: options.attentionMode ?? defaultAttentionMode(component),
    weights: (name) => {
      const found = byName.get(name);
      if (!found) throw new Error(`graph asked for ${name}, which the weight list does not name`);
      return found;
    },
  });
  await writeNewFile(join(outDir, 'model.onnx'), encodeModel(model));
  progress(total);
}

export async function ensureConvertedComponent(
  modelFolder: string,
  component: ComponentName,
  options: ConvertOptions = {},
): Promise<ConvertedComponent> {
  const modelDir = resolve(modelFolder);
  const fp16 = options.fp16 === true;
  throwIfAborted(options.signal);
  const files = await findComponentFiles(modelDir, component);
  const configText = await readFile(files.configPath, 'utf8');
  const identity = {
    converterVersion,
    component,
    fp16,
    variant: options.variant ?? (fp16 ? 'fp16' : 'fp32'),
    linearMode: options.linearMode ?? 'matmul',
    attentionMode: options.attentionMode ?? defaultAttentionMode(component),
    config: createHash('sha256').update(configText).digest('hex'),
    float32: await fileIdentity(files.float32Path),
    float16: await fileIdentity(files.float16Path),
  };
  const key = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
  const root = await cacheRoot(modelDir);
  const finalDir = join(root, `${component}-${fp16 ? 'fp16' : 'fp32'}-${key}`);
  const onnxPath = join(finalDir, 'model.onnx');
  const notesPath = join(finalDir, 'notes.json');

  const cached = await stat(onnxPath).then(
    () => true,
    () => false,
  );
  if (cached) {
    const notes = await readFile(notesPath, 'utf8').then(
      (text) => JSON.parse(text) as string[],
      () => [],
    );
    return { onnxPath, fromCache: true, notes };
  }

  await removeStaleTempDirs(root);
  const config = await readComponentConfig(files);
  const chosen = await chooseWeights(component, files, config, fp16, identity.variant === 'fp16');
  await mkdir(root, { recursive: true });
  // Made here and now under a random name (not recursive: an existing entry, a planted link
  // included, fails instead of being written into).
  const tempDir = join(root, `.tmp-${component}-${randomName()}`);
  await mkdir(tempDir);
  try {
    await convertComponentInto(tempDir, component, config, chosen, options);
    await writeNewFile(join(tempDir, 'notes.json'), Buffer.from(JSON.stringify(chosen.notes)));
    await writeNewFile(join(tempDir, identityFileName), Buffer.from(JSON.stringify(identity)));
    throwIfAborted(options.signal);
    try {
      await rename(tempDir, finalDir);
    } catch (error) {
      // Another process finished the same conversion first: use its result.
      if (!(await stat(onnxPath).then(() => true, () => false))) throw error;
      await rm(tempDir, { recursive: true, force: true });
    }
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
  await removeSupersededConversions(root, finalDir, identity);
  return { onnxPath, fromCache: false, notes: chosen.notes };
}
