// The converted-graph cache's bookkeeping: which conversion folder a model and its options map to,
// whether a folder found there can be trusted, clean-up that only ever removes what this cache
// made (signed records, signed temp markers), the caches older versions kept inside model folders,
// and the listing and removal behind `letterpress cache` and "Manage Model Cache…".
import { createHash, createHmac } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, realpath, rm, rmdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  describeModelSource,
  graphsRoot,
  isInside,
  letterpressCacheDir,
  realFolder,
  setAside,
  setAsidePrefix,
  type ModelSource,
} from './graphCacheFolders.ts';
import { randomName } from '../files/newFiles.ts';
import type { CachedGraphInfo } from '../protocol/runtimeProtocol.ts';
import { outputMismatch, readSignedRecord, recordKey, type GraphRecord, type SourceIdentity } from './graphCacheRecord.ts';

export interface ConversionSlot {
  source: ModelSource;
  /** `<cache>/graphs/<source id>`, a real folder of ours. */
  sourceDir: string;
  /** The conversion's folder (may not exist yet). */
  dir: string;
  name: string;
  key: Buffer;
}

export async function conversionSlot(modelDir: string, name: string): Promise<ConversionSlot> {
  const source = await describeModelSource(modelDir);
  const root = await graphsRoot();
  const sourceDir = await realFolder(root, source.id);
  return { source, sourceDir, dir: join(sourceDir, name), name, key: await recordKey(dirname(root)) };
}

function sameSources(a: SourceIdentity[], b: SourceIdentity[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The record of the slot's conversion when the folder there is one this cache made for these
 * sources and its files are still what was written; null when there is none. Anything else at that
 * name (a link, a file, a folder without a valid record, files changed since) is set aside, with a
 * note, so that the caller converts again.
 */
export async function trustedConversion(slot: ConversionSlot, sources: SourceIdentity[], notes: string[]): Promise<GraphRecord | null> {
  const info = await lstat(slot.dir).catch(() => null);
  if (!info) return null;
  let reason: string | undefined;
  let record: GraphRecord | null = null;
  if (!info.isDirectory()) reason = info.isSymbolicLink() ? 'it is a symbolic link' : 'it is not a folder';
  else if (!isInside(slot.sourceDir, await realpath(slot.dir))) reason = 'it resolves outside the cache';
  else {
    record = await readSignedRecord(slot.key, slot.dir);
    if (!record || record.name !== slot.name) reason = 'it has no record signed by this cache';
    else if (!sameSources(record.sources, sources)) reason = "its record is for other source files";
    else reason = await outputMismatch(slot.dir, record, slot.source.modelDir);
  }
  if (reason === undefined) return record;
  const aside = await setAside(slot.dir);
  notes.push(`Converted again: the cached ${slot.name} could not be trusted (${reason}); it was moved to ${aside}.`);
  return null;
}

// ---- temp folders ----------------------------------------------------------------------------

const tempPrefix = '.tmp-';
const tempMarker = '.letterpress-temp';

function tempMark(key: Buffer, name: string): string {
  return createHmac('sha256', key).update(`temp:${name}`).digest('hex');
}

/** A new temp folder under a random name, marked as ours so a later clean-up may remove it. */
export async function makeTempFolder(slot: ConversionSlot, label: string): Promise<string> {
  const name = `${tempPrefix}${label}-${randomName()}`;
  const dir = join(slot.sourceDir, name);
  // Not recursive: an entry already there (a planted link included) fails instead of being used.
  await mkdir(dir);
  await writeFile(join(dir, tempMarker), tempMark(slot.key, name), { flag: 'wx' });
  return dir;
}

/** Temp folders of conversions that died (crash, kill) more than a day ago, when they carry our mark. */
export async function removeStaleTempFolders(slot: ConversionSlot): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const name of await readdir(slot.sourceDir).catch(() => [] as string[])) {
    if (!name.startsWith(tempPrefix)) continue;
    const path = join(slot.sourceDir, name);
    const info = await lstat(path).catch(() => null);
    if (!info?.isDirectory() || info.mtimeMs >= dayAgo) continue;
    const mark = await readFile(join(path, tempMarker), 'utf8').catch(() => '');
    if (mark === tempMark(slot.key, name)) await rm(path, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * After a component was converted again because its sources (or the converter) changed, the older
 * conversion with the same graph options can never be used again: remove it — when its record
 * says this cache made it. A float32 conversion holds hard links to the old weights, so this also
 * frees the disk space of weights replaced since. A folder that cannot be removed now (in use on
 * Windows) is left for the next time.
 */
export async function removeSupersededConversions(slot: ConversionSlot, kept: GraphRecord): Promise<void> {
  for (const name of await readdir(slot.sourceDir).catch(() => [] as string[])) {
    if (name === slot.name || name.startsWith('.') || !name.startsWith(`${kept.component}-`)) continue;
    const dir = join(slot.sourceDir, name);
    const info = await lstat(dir).catch(() => null);
    if (!info?.isDirectory()) continue;
    const other = await readSignedRecord(slot.key, dir);
    if (!other || other.name !== name || other.precision !== kept.precision) continue;
    if (JSON.stringify(other.options) !== JSON.stringify(kept.options)) continue;
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

// ---- caches of older versions ----------------------------------------------------------------

const legacyConversion = /^(text_encoder|unet|vae_decoder|vae_encoder)-(fp16|fp32)-[0-9a-f]{16}$/;
const legacyTemp = /^\.tmp-(text_encoder|unet|vae_decoder|vae_encoder)-\d+-[0-9a-f]{8}$/;

/** `parent/name` when it is a real folder (not a link); the callers check each step of a path this way. */
async function realChild(parent: string, name: string): Promise<string | null> {
  const path = join(parent, name);
  const info = await lstat(path).catch(() => null);
  return info?.isDirectory() ? path : null;
}

/**
 * Removes the conversions an older Letterpress kept in `folder` (a real folder, checked by the
 * caller): only entries with its exact names, real folders holding its identity.json for that
 * component. Their graphs carry no content record, so they are rebuilt in the new cache rather
 * than moved into it (seconds for float32, which links the weights). Then the folder itself, and
 * `alsoEmpty` above it, go when empty.
 */
async function removeLegacyConversions(folder: string, alsoEmpty: string[]): Promise<number> {
  let removed = 0;
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const path = join(folder, name);
    const info = await lstat(path).catch(() => null);
    if (!info?.isDirectory()) continue;
    const conversion = legacyConversion.exec(name);
    if (conversion) {
      const identity = await readFile(join(path, 'identity.json'), 'utf8')
        .then((text) => JSON.parse(text) as { component?: unknown; converterVersion?: unknown })
        .catch(() => null);
      if (identity?.component !== conversion[1] || typeof identity.converterVersion !== 'number') continue;
    } else if (!legacyTemp.test(name) || info.mtimeMs >= dayAgo) continue;
    await rm(path, { recursive: true, force: true }).then(
      () => removed++,
      () => {},
    );
  }
  for (const dir of [folder, ...alsoEmpty]) await rmdir(dir).catch(() => {});
  return removed;
}

const cleanedLegacy = new Set<string>();

/**
 * The three places older versions kept graphs for this model folder: `<model>/.letterpress/onnx`,
 * `<hub repo>/letterpress-onnx/<commit>` and `~/.cache/letterpress/onnx/<hash>`. Each folder on the
 * way must be a real folder: a symbolic link there is left alone and not followed.
 */
export async function removeLegacyCaches(modelDir: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const real = await realpath(modelDir);
  if (cleanedLegacy.has(real)) return 0;
  cleanedLegacy.add(real);
  let removed = 0;
  const dot = await realChild(real, '.letterpress');
  const inModel = dot && (await realChild(dot, 'onnx'));
  if (dot && inModel) removed += await removeLegacyConversions(inModel, [dot]);
  const snapshots = dirname(real);
  if (basename(snapshots) === 'snapshots') {
    const beside = await realChild(dirname(snapshots), 'letterpress-onnx');
    const forCommit = beside && (await realChild(beside, basename(real)));
    if (beside && forCommit) removed += await removeLegacyConversions(forCommit, [beside]);
  }
  const xdg = join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'letterpress');
  const onnx = await realChild(xdg, 'onnx');
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 16);
  const forModel = onnx && (await realChild(onnx, hash));
  if (onnx && forModel) removed += await removeLegacyConversions(forModel, [onnx]);
  return removed;
}

// ---- listing and removal ---------------------------------------------------------------------

export type CachedGraph = CachedGraphInfo;

/** A file with other hard links (float32 weights shared with the model's file) counts as linked, not as this entry's. */
async function folderBytes(path: string): Promise<{ bytes: number; linkedBytes: number }> {
  const info = await lstat(path).catch(() => null);
  if (!info) return { bytes: 0, linkedBytes: 0 };
  if (info.isDirectory()) {
    const total = { bytes: 0, linkedBytes: 0 };
    for (const name of await readdir(path).catch(() => [] as string[])) {
      const child = await folderBytes(join(path, name));
      total.bytes += child.bytes;
      total.linkedBytes += child.linkedBytes;
    }
    return total;
  }
  return info.isFile() && info.nlink > 1 ? { bytes: 0, linkedBytes: info.size } : { bytes: info.size, linkedBytes: 0 };
}

export async function listCachedGraphs(env: NodeJS.ProcessEnv = process.env): Promise<{ cacheDir: string; graphs: CachedGraph[] }> {
  const cacheDir = letterpressCacheDir(env);
  const graphs: CachedGraph[] = [];
  const root = join(cacheDir, 'graphs');
  if (!(await lstat(root).then((i) => i.isDirectory(), () => false))) return { cacheDir, graphs };
  const key = await recordKey(await realpath(cacheDir));
  for (const sourceName of (await readdir(root)).sort()) {
    const sourceDir = join(root, sourceName);
    const sourceInfo = await lstat(sourceDir).catch(() => null);
    if (!sourceInfo?.isDirectory()) {
      if (sourceInfo) graphs.push({ id: sourceName, model: sourceName, bytes: sourceInfo.size, linkedBytes: 0, trusted: false });
      continue;
    }
    for (const name of (await readdir(sourceDir)).sort()) {
      if (name.startsWith('.tmp-')) continue;
      const dir = join(sourceDir, name);
      const info = await lstat(dir).catch(() => null);
      if (!info) continue;
      const record = info.isDirectory() && !name.startsWith(setAsidePrefix) ? await readSignedRecord(key, dir) : null;
      const sizes = await folderBytes(dir);
      graphs.push(
        record && record.name === name
          ? {
              id: `${sourceName}/${name}`,
              model: record.model,
              ...(record.revision ? { revision: record.revision } : {}),
              component: record.component,
              precision: record.precision,
              ...(record.provider ? { provider: record.provider } : {}),
              attentionMode: record.options.attentionMode,
              ...sizes,
              trusted: true,
              createdAt: record.createdAt,
            }
          : { id: `${sourceName}/${name}`, model: sourceName, ...sizes, trusted: false },
      );
    }
  }
  return { cacheDir, graphs };
}

/**
 * Removes the listed entries with these ids (anything else is refused: ids are not paths). A link
 * is removed itself, never what it points to.
 */
export async function removeCachedGraphs(
  ids: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ removed: string[]; freedBytes: number; unknown: string[] }> {
  const { cacheDir, graphs } = await listCachedGraphs(env);
  const byId = new Map(graphs.map((g) => [g.id, g]));
  const removed: string[] = [];
  const unknown: string[] = [];
  let freedBytes = 0;
  const root = join(cacheDir, 'graphs');
  for (const id of ids) {
    const graph = byId.get(id);
    if (!graph) {
      unknown.push(id);
      continue;
    }
    const path = join(root, ...id.split('/'));
    await rm(path, { recursive: true, force: true });
    removed.push(id);
    freedBytes += graph.bytes;
    if (id.includes('/')) await rmdir(dirname(path)).catch(() => {});
  }
  return { removed, freedBytes, unknown };
}
