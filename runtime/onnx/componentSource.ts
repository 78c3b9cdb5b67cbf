// Finds a component's config and weights in a diffusers model folder and checks what a weights file
// really holds before it is used: every tensor the config implies must be there with its shape
// (under the current or an older library's name). Picks the float16 variant for float16 graphs only
// when it passes, and says why when it falls back.
import { stat } from 'node:fs/promises';
import { FileReadError, maxConfigFileBytes, readRegularTextFile } from '../files/readRegularFile.ts';
import { join } from 'node:path';
import { openSafetensors, type SafetensorsTensorInfo } from '../safetensors/safetensorsFile.ts';
import { SafetensorsError } from '../safetensors/safetensorsFormat.ts';
import { listComponentWeights, tensorNameCandidates, type WeightSpec } from './componentWeights.ts';
import type { ComponentName, JsonConfig } from './modelArchitecture.ts';

export class ModelFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFilesError';
  }
}

export interface ComponentFiles {
  folder: string;
  configPath: string;
  float32Path: string | null;
  float16Path: string | null;
}

const componentFolders: Record<ComponentName, { folder: string; stem: string }> = {
  text_encoder: { folder: 'text_encoder', stem: 'model' },
  unet: { folder: 'unet', stem: 'diffusion_pytorch_model' },
  vae_decoder: { folder: 'vae', stem: 'diffusion_pytorch_model' },
  vae_encoder: { folder: 'vae', stem: 'diffusion_pytorch_model' },
};

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

export async function findComponentFiles(modelDir: string, component: ComponentName): Promise<ComponentFiles> {
  const { folder: name, stem } = componentFolders[component];
  const folder = join(modelDir, name);
  const configPath = join(folder, 'config.json');
  if (!(await isFile(configPath))) {
    throw new ModelFilesError(`${configPath} is missing: is ${modelDir} a diffusers model folder (with ${name}/config.json)?`);
  }
  const float32Path = join(folder, `${stem}.safetensors`);
  const float16Path = join(folder, `${stem}.fp16.safetensors`);
  const files: ComponentFiles = {
    folder,
    configPath,
    float32Path: (await isFile(float32Path)) ? float32Path : null,
    float16Path: (await isFile(float16Path)) ? float16Path : null,
  };
  if (!files.float32Path && !files.float16Path) {
    const sharded = await isFile(join(folder, `${stem}.safetensors.index.json`));
    throw new ModelFilesError(
      sharded
        ? `${folder} holds sharded weights (${stem}.safetensors.index.json), which are not supported yet`
        : `${folder} has no ${stem}.safetensors (nor ${stem}.fp16.safetensors): download the model's safetensors weights`,
    );
  }
  return files;
}

/** A config file's text: a regular file of at most maxConfigFileBytes, else a ModelFilesError naming it. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readRegularTextFile(path, maxConfigFileBytes, 'config');
  } catch (error) {
    if (error instanceof FileReadError) throw new ModelFilesError(error.message);
    throw error;
  }
}

export async function readComponentConfig(files: ComponentFiles): Promise<JsonConfig> {
  const text = await readConfigText(files.configPath);
  try {
    const config = JSON.parse(text) as unknown;
    if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error('not a JSON object');
    return config as JsonConfig;
  } catch (error) {
    throw new ModelFilesError(`${files.configPath} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export interface MatchedTensor {
  spec: WeightSpec;
  info: SafetensorsTensorInfo;
}

export type WeightsCheck =
  | { ok: true; tensors: MatchedTensor[] }
  | { ok: false; problems: string[]; problemCount: number };

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Same shape, or the same up to trailing 1s (old files keep 1x1 conv kernels for linear layers). */
function shapesCompatible(expected: readonly number[], actual: readonly number[]): boolean {
  const trim = (s: readonly number[]) => {
    const out = [...s];
    while (out.length > 1 && out[out.length - 1] === 1) out.pop();
    return out.join(',');
  };
  return elements(expected) === elements(actual) && trim(expected) === trim(actual);
}

const floatDtypes = new Set(['F32', 'F16', 'BF16']);

/** Matches the tensors the config implies against a file's header. */
export function checkWeights(
  component: ComponentName,
  specs: readonly WeightSpec[],
  tensors: ReadonlyMap<string, SafetensorsTensorInfo>,
): WeightsCheck {
  const problems: string[] = [];
  const matched: MatchedTensor[] = [];
  for (const spec of specs) {
    const candidates = tensorNameCandidates(component, spec.name);
    const info = candidates.map((name) => tensors.get(name)).find((t) => t !== undefined);
    if (!info) problems.push(`missing ${spec.name} [${spec.shape.join(', ')}]`);
    else if (!shapesCompatible(spec.shape, info.shape)) {
      problems.push(`${info.name} is [${info.shape.join(', ')}], expected [${spec.shape.join(', ')}]`);
    } else if (!floatDtypes.has(info.dtype)) problems.push(`${info.name} is ${info.dtype}, expected a float type`);
    else matched.push({ spec, info });
  }
  return problems.length === 0 ? { ok: true, tensors: matched } : { ok: false, problems: problems.slice(0, 5), problemCount: problems.length };
}

export function describeProblems(path: string, check: Extract<WeightsCheck, { ok: false }>): string {
  const more = check.problemCount > check.problems.length ? ` and ${check.problemCount - check.problems.length} more` : '';
  return `${path} does not match its config.json: ${check.problems.join('; ')}${more}`;
}

export interface ChosenWeights {
  path: string;
  tensors: MatchedTensor[];
  notes: string[];
}

async function inspect(component: ComponentName, specs: WeightSpec[], path: string): Promise<WeightsCheck> {
  const file = await openSafetensors(path);
  try {
    return checkWeights(component, specs, file.tensors);
  } finally {
    await file.close();
  }
}

/** The weights file to convert from, validated: the preferred variant first, then the other. */
export async function chooseWeights(
  component: ComponentName,
  files: ComponentFiles,
  config: JsonConfig,
  fp16: boolean,
  preferFloat16Variant = fp16,
): Promise<ChosenWeights> {
  const specs = listComponentWeights(component, config);
  const order = preferFloat16Variant ? [files.float16Path, files.float32Path] : [files.float32Path, files.float16Path];
  const notes: string[] = [];
  let firstFailure: string | null = null;
  for (const path of order) {
    if (!path) continue;
    let check: WeightsCheck;
    try {
      check = await inspect(component, specs, path);
    } catch (error) {
      // A damaged file (bad header, cut off) is one more reason to try the other variant, as a
      // shape mismatch is; only when none can be used does the first reason reach the user.
      if (!(error instanceof SafetensorsError)) throw error;
      const message = error.message.startsWith(path) ? error.message : `${path} cannot be used: ${error.message}`;
      firstFailure ??= message;
      notes.push(message);
      continue;
    }
    if (check.ok) {
      if (path !== order[0]) {
        const want = order[0] ? `${order[0]} could not be used` : `no ${preferFloat16Variant ? 'float16' : 'float32'} weights file`;
        const cast = check.tensors.some((t) => t.info.dtype !== (fp16 ? 'F16' : 'F32'));
        notes.push(`${want}; converted from ${path}${cast ? `, cast to ${fp16 ? 'float16' : 'float32'}` : ''}`);
      }
      return { path, tensors: check.tensors, notes };
    }
    const message = describeProblems(path, check);
    firstFailure ??= message;
    notes.push(message);
  }
  throw new ModelFilesError(firstFailure ?? `no weights file for ${component}`);
}
