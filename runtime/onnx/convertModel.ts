// safetensors → ONNX for one pipeline component, cached in Letterpress's own cache folder
// (runtime/graphCache/: never inside the model's folder, so a Hugging Face snapshot keeps only the
// repository's files).
//
// Cache layout: <cache>/graphs/<model>/<component>-<fp32|fp16>-<key>/{model.onnx,
// weights.safetensors, record.json}, where the key hashes the sources' content identity (size,
// mtime and safetensors header hash of each weights file), the config, the graph options and the
// converter version. The signed record is checked on every load, so only what this cache wrote is
// used; a new conversion removes the one it supersedes. The float32 graph uses the diffusers file
// in place (a hard link to it, so ORT's "external data stays inside the model folder" rule holds
// even for hub-cache symlinks; a copy where the cache is on another disk); a float16 graph, or a
// float32 graph from float16 weights, gets a cast copy written tensor by tensor. Each conversion is
// written into a temp folder that is renamed into place, so a crash never leaves a half cache behind.
import { createHash } from 'node:crypto';
import { link, readFile, realpath, rename, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { ProgressListener } from '../protocol/generationTypes.ts';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../safetensors/float16.ts';
import { openSafetensors, type SafetensorsFile } from '../safetensors/safetensorsFile.ts';
import { writeSafetensors } from '../safetensors/safetensorsWriter.ts';
import { writeNewFile } from '../files/newFiles.ts';
import { chooseWeights, findComponentFiles, readComponentConfig, readConfigText, type MatchedTensor } from './componentSource.ts';
import { GraphBuilder, type AttentionMode, type LinearMode, type ResolvedWeight } from './graphBuilder.ts';
import { fusionNames, resolveFusions, type GraphFusions } from './graphFusions.ts';
import type { ComponentName, JsonConfig } from './modelArchitecture.ts';
import { encodeModel } from './onnxSchema.ts';
import { buildTextEncoderGraph } from './textEncoderGraph.ts';
import { buildUnetGraph } from './unetGraph.ts';
import { buildVaeDecoderGraph } from './vaeDecoderGraph.ts';
import { buildVaeEncoderGraph } from './vaeEncoderGraph.ts';
import {
  conversionSlot,
  makeTempFolder,
  removeLegacyCaches,
  removeStaleTempFolders,
  removeSupersededConversions,
  trustedConversion,
} from '../graphCache/graphCache.ts';
import { outputIdentities, recordFileName, signedRecordText, sourceIdentity, type GraphRecord } from '../graphCache/graphCacheRecord.ts';

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
  /** Contrib-kernel fusions (graphFusions.ts; none by default). The pipeline picks them per provider
   *  (conversionOptionsFor in runtime/pipeline/providerTuning.ts); they are part of the cache key. */
  fusions?: Partial<GraphFusions>;
  /** The provider the graph is for; only recorded, for `letterpress cache ls`. */
  provider?: string;
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
  options: {
    fp16: boolean;
    weights: (name: string) => ResolvedWeight;
    linearMode?: LinearMode;
    attentionMode?: AttentionMode;
    fusions?: Partial<GraphFusions>;
  },
) {
  const b = new GraphBuilder({
    name: component,
    computeType: options.fp16 ? 'float16' : 'float32',
    weights: options.weights,
    linearMode: options.linearMode,
    attentionMode: options.attentionMode,
    fusions: options.fusions,
  });
  if (component === 'text_encoder') buildTextEncoderGraph(b, config);
  else if (component === 'unet') buildUnetGraph(b, config);
  else if (component === 'vae_encoder') buildVaeEncoderGraph(b, config);
  else buildVaeDecoderGraph(b, config);
  return b.toModel({ 'letterpress.component': component, 'letterpress.converter_version': String(converterVersion) });
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
    fusions: options.fusions,
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
  const configText = await readConfigText(files.configPath);
  const precision = fp16 ? 'fp16' : 'fp32';
  const fusions = fusionNames(resolveFusions(options.fusions));
  const graphOptions: Record<string, string> = {
    variant: options.variant ?? precision,
    linearMode: options.linearMode ?? 'matmul',
    attentionMode: options.attentionMode ?? defaultAttentionMode(component),
    // Only when any: a plain graph keeps the key (and cache entry) it had before fusions existed.
    ...(fusions.length ? { fusions: fusions.join(',') } : {}),
  };
  const sources = await Promise.all(
    [files.float32Path, files.float16Path].filter((p): p is string => p !== null).map((p) => sourceIdentity(modelDir, relative(modelDir, p))),
  );
  const configSha256 = createHash('sha256').update(configText).digest('hex');
  const key = createHash('sha256')
    .update(JSON.stringify({ converterVersion, component, precision, graphOptions, configSha256, sources }))
    .digest('hex')
    .slice(0, 16);
  await removeLegacyCaches(modelDir).catch(() => 0);
  const slot = await conversionSlot(modelDir, `${component}-${precision}-${key}`);
  const onnxPath = join(slot.dir, 'model.onnx');

  const notes: string[] = [];
  const cached = await trustedConversion(slot, sources, notes);
  if (cached) return { onnxPath, fromCache: true, notes: cached.notes };

  await removeStaleTempFolders(slot);
  const config = await readComponentConfig(files);
  const chosen = await chooseWeights(component, files, config, fp16, graphOptions.variant === 'fp16');
  const tempDir = await makeTempFolder(slot, component);
  let record: GraphRecord;
  try {
    await convertComponentInto(tempDir, component, config, chosen, options);
    record = {
      format: 1,
      name: slot.name,
      key,
      converterVersion,
      component,
      precision,
      options: graphOptions,
      configSha256,
      model: slot.source.model,
      ...(slot.source.revision ? { revision: slot.source.revision } : {}),
      ...(options.provider ? { provider: options.provider } : {}),
      sources,
      outputs: await outputIdentities(tempDir, modelDir, chosen.path),
      notes: [...notes, ...chosen.notes],
      createdAt: new Date().toISOString(),
    };
    await writeNewFile(join(tempDir, recordFileName), Buffer.from(signedRecordText(slot.key, record)));
    throwIfAborted(options.signal);
    try {
      await rename(tempDir, slot.dir);
    } catch {
      // Another process finished the same conversion first: use its result once it checks out;
      // anything else there has been set aside by then, and the slot is free again.
      const theirs = await trustedConversion(slot, sources, notes);
      if (theirs) {
        await rm(tempDir, { recursive: true, force: true });
        return { onnxPath, fromCache: true, notes: theirs.notes };
      }
      await rename(tempDir, slot.dir);
    }
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
  await removeSupersededConversions(slot, record);
  return { onnxPath, fromCache: false, notes: record.notes };
}
