import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, win32 } from 'node:path';
import type { ProgressListener } from '../protocol/generationTypes.ts';
import type { ModelDownloadPlan } from '../protocol/runtimeProtocol.ts';
import { downloadBlob, type RemoteFile } from './blobDownload.ts';
import { freeDiskSpace } from './diskSpace.ts';
import { formatBytes } from '../protocol/byteSize.ts';
import { DownloadProgress } from './downloadProgress.ts';
import { HubClient, type HubFileMetadata, type HubSibling } from './hubClient.ts';
import {
  assertSafeBlobName,
  assertSafeRepoPath,
  defaultHubCacheDir,
  hubEndpoint,
  isTruthyEnv,
  RepoCachePaths,
  validateRepoId,
} from './hubPaths.ts';
import { ModelStoreError } from './modelStoreError.ts';
import { defaultParallelDownloads, runParallelDownloads } from './parallelDownloads.ts';
import { findMissingModelFiles, requiredModelFiles } from './requiredModelFiles.ts';
import { findCompleteSnapshot, linkBlobIntoSnapshot, readRef, writeRef } from './snapshotCache.ts';

export const defaultModelId = 'pbevan11/stable-diffusion-2-typography';

export interface ResolveModelOptions {
  /** A Hugging Face repository id ("org/name") or a local folder in the diffusers layout. */
  model?: string;
  /** Branch, tag or commit; "main" by default. */
  revision?: string;
  /** The hub cache; $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub by default. */
  cacheDir?: string;
  /** Hugging Face token; $HF_TOKEN by default. Sent only to the hub's own host. */
  token?: string;
  /** Use the cache only and open no connection; $HF_HUB_OFFLINE by default. */
  offline?: boolean;
  /** The hub; $HF_ENDPOINT or https://huggingface.co by default. */
  endpoint?: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /**
   * Ask the hub where the revision points now even when a complete snapshot of it is cached.
   * Off by default: a model on disk starts with no network round trip, and works offline.
   */
  refresh?: boolean;
  /** Free bytes at the cache folder; tests replace it to simulate a full disk. */
  freeDiskSpace?: (dir: string) => Promise<number>;
  /**
   * The window a download's progress is judged over (60 s by default): a connection that brings
   * less than `minBytesPerWindow` (64 KiB by default) in it counts as dropped and is resumed.
   */
  stallTimeoutMs?: number;
  minBytesPerWindow?: number;
  /** Resumes of one file without new data before giving up; 3 by default. */
  maxResumes?: number;
  /** Largest answer read from the hub's API (the file list); 16 MiB by default. */
  maxApiResponseBytes?: number;
  /** Limit for each metadata request (HEAD, file list); 30 s by default. */
  metadataTimeoutMs?: number;
  /** Files fetched at once; 3 by default (defaultParallelDownloads), 1 fetches one after another. */
  parallelDownloads?: number;
}

export interface ResolvedModel {
  modelDir: string;
  source: 'local' | 'cache' | 'download';
  /** The commit of the snapshot, for hub models. */
  revision?: string;
}

function looksLikePath(model: string): boolean {
  return (
    model.startsWith('.') ||
    model.startsWith('~') ||
    isAbsolute(model) ||
    win32.isAbsolute(model) ||
    model.includes('\\') ||
    model.split('/').length > 2
  );
}

async function resolveLocalFolder(model: string): Promise<ResolvedModel> {
  const modelDir = resolve(model);
  const info = await stat(modelDir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new ModelStoreError('bad-input', `The model folder ${modelDir} does not exist.`);
  }
  const missing = await findMissingModelFiles(modelDir);
  if (missing.length > 0) {
    throw new ModelStoreError(
      'missing-files',
      `${modelDir} is not a complete diffusers model folder: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing.`,
    );
  }
  return { modelDir, source: 'local' };
}

/** Where a model request stands before any file is fetched. */
type RepoLookup =
  | { kind: 'local'; resolved: ResolvedModel }
  | { kind: 'cached'; resolved: ResolvedModel }
  | { kind: 'remote'; client: HubClient; paths: RepoCachePaths; model: string; revision: string; pinned: HubFileMetadata; cached?: string };

async function lookUpRepo(options: ResolveModelOptions): Promise<RepoLookup> {
  const model = options.model?.trim() || defaultModelId;
  if (looksLikePath(model) || (await stat(model).catch(() => undefined))?.isDirectory()) {
    return { kind: 'local', resolved: await resolveLocalFolder(model) };
  }
  validateRepoId(model);
  const revision = options.revision?.trim() || 'main';
  assertSafeRepoPath(revision, 'the revision');
  const cacheDir = resolve(options.cacheDir || defaultHubCacheDir());
  const paths = new RepoCachePaths(cacheDir, model);
  const offline = options.offline ?? (isTruthyEnv(process.env.HF_HUB_OFFLINE) || isTruthyEnv(process.env.TRANSFORMERS_OFFLINE));

  const cached = await findCompleteSnapshot(paths, revision);
  if (cached && (offline || !options.refresh)) {
    return { kind: 'cached', resolved: { modelDir: paths.snapshot(cached), source: 'cache', revision: cached } };
  }
  if (offline) throw await notCachedError(paths, model, revision);

  const client = new HubClient({
    endpoint: hubEndpoint(options.endpoint),
    token: options.token || process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined,
    signal: options.signal,
    metadataTimeoutMs: options.metadataTimeoutMs,
    maxApiResponseBytes: options.maxApiResponseBytes,
  });
  const pinned = await client.fileMetadata(model, revision, requiredModelFiles[0], !cached);
  return { kind: 'remote', client, paths, model, revision, pinned, cached };
}

/**
 * Finds the model on disk or fetches it: a local folder is checked and returned as is; a hub
 * repository is looked up in the huggingface_hub cache (shared with diffusers and other Python
 * tools) and only the files the pipeline needs are downloaded, verified and linked into
 * snapshots/<commit>/.
 */
export async function resolveModel(options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  let repo: RepoLookup;
  try {
    repo = await lookUpRepo(options);
  } catch (error) {
    // As huggingface_hub does: when the hub cannot be reached, what is cached is good enough.
    const fallback = error instanceof ModelStoreError && (error.code === 'network' || error.code === 'http') ? await cachedSnapshot(options) : undefined;
    if (!fallback) throw error;
    options.onProgress?.({ status: 'message', level: 'warning', text: `${(error as Error).message} Using the cached snapshot ${fallback.revision}.` });
    return fallback;
  }
  if (repo.kind !== 'remote') return repo.resolved;
  const plan = await planSnapshot(repo, options);
  return downloadSnapshot(repo, plan, options);
}

/** The complete cached snapshot of the requested revision, if any (for when the hub cannot be asked). */
async function cachedSnapshot(options: ResolveModelOptions): Promise<ResolvedModel | undefined> {
  const model = options.model?.trim() || defaultModelId;
  const paths = new RepoCachePaths(resolve(options.cacheDir || defaultHubCacheDir()), model);
  const cached = await findCompleteSnapshot(paths, options.revision?.trim() || 'main');
  return cached ? { modelDir: paths.snapshot(cached), source: 'cache', revision: cached } : undefined;
}

/**
 * What resolveModel would fetch, found without fetching any file: the sizes come from the hub. A dry run of resolveModel: the same look-ups (the revision's commit, the file list, a HEAD per
 * missing file) and the same reading of the cache, but nothing is downloaded or written. A model
 * that is on disk needs nothing; one that is partly cached needs only the rest.
 */
export async function planModelDownload(options: ResolveModelOptions = {}): Promise<ModelDownloadPlan> {
  const repo = await lookUpRepo({ ...options, onProgress: undefined });
  if (repo.kind !== 'remote') {
    let bytes = 0;
    for (const file of requiredModelFiles) bytes += (await fileSize(join(repo.resolved.modelDir, ...file.split('/')))) ?? 0;
    return { source: repo.resolved.source, revision: repo.resolved.revision, totalBytes: bytes, cachedBytes: bytes, bytesToFetch: 0 };
  }
  const plan = await planSnapshot(repo, {});
  const source = plan.complete ? 'cache' : 'download';
  const totalBytes = plan.presentBytes + plan.wantedBytes;
  return { source, revision: plan.commit, totalBytes, cachedBytes: totalBytes - plan.neededBytes, bytesToFetch: plan.neededBytes };
}

async function notCachedError(paths: RepoCachePaths, model: string, revision: string): Promise<ModelStoreError> {
  const commit = await readRef(paths, revision);
  const missing = commit ? await findMissingModelFiles(paths.snapshot(commit)) : [];
  const partial = commit && missing.length < requiredModelFiles.length ? ` (snapshot ${commit} lacks ${missing.join(', ')})` : '';
  return new ModelStoreError(
    'not-cached',
    `${model} at "${revision}" is not in the cache ${paths.cacheDir}${partial}, and offline mode is on (HF_HUB_OFFLINE). ` +
      'Go online and run `letterpress download` once, or use a local model folder.',
  );
}

function mismatch(file: string, what: string, hub: string | number, listing: string | number): never {
  throw new ModelStoreError(
    'http',
    `The hub contradicts itself about ${file}: its ${what} is ${hub} in the file headers but ${listing} in the file list. Try again later.`,
  );
}

/** Combines the HEAD headers and the model-info entry into what the bytes must match. */
function remoteFile(url: string, file: string, meta: HubFileMetadata, sibling: HubSibling | undefined): RemoteFile {
  // The resolve URL rather than the file-store URL the HEAD pointed to: signed URLs expire (about
  // an hour), and the last files of a 5 GB download start later than that on a slow line.
  const remote: RemoteFile = { path: file, etag: meta.etag, size: meta.size, url };
  if (/^[0-9a-f]{64}$/.test(meta.etag)) remote.sha256 = meta.etag;
  else if (/^[0-9a-f]{40}$/.test(meta.etag)) remote.gitSha1 = meta.etag;
  if (sibling?.lfs) {
    if (remote.sha256 && remote.sha256 !== sibling.lfs.sha256) mismatch(file, 'sha256', remote.sha256, sibling.lfs.sha256);
    if (sibling.lfs.size !== meta.size) mismatch(file, 'size', meta.size, sibling.lfs.size);
    remote.sha256 = sibling.lfs.sha256;
    remote.gitSha1 = undefined;
  } else if (sibling) {
    if (sibling.size !== undefined && sibling.size !== meta.size) mismatch(file, 'size', meta.size, sibling.size);
    if (sibling.blobId && remote.gitSha1 && sibling.blobId !== remote.gitSha1) {
      mismatch(file, 'git blob id', remote.gitSha1, sibling.blobId);
    }
    remote.gitSha1 ??= sibling.blobId;
  }
  return remote;
}

async function mapWithLimit<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function fileSize(path: string): Promise<number | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ? info.size : undefined;
}

interface SnapshotPlan {
  commit: string;
  snapshotDir: string;
  /** Every needed file is in the snapshot already. */
  complete: boolean;
  /** The needed files the snapshot lacks, with what their bytes must match. */
  wanted: RemoteFile[];
  /** Bytes of the needed files the snapshot already holds. */
  presentBytes: number;
  /** Bytes of the wanted files. */
  wantedBytes: number;
  /** Bytes of the wanted files whose blob is not complete yet (the download's total). */
  missingBytes: number;
  /** Wanted files whose blob is complete already: they are only linked into the snapshot. */
  blobComplete: ReadonlySet<string>;
  /** What is left to transfer, partial downloads counted as resumed. */
  neededBytes: number;
}

/** Asks the hub what the snapshot of the pinned commit lacks; fetches no file. */
async function planSnapshot(repo: Extract<RepoLookup, { kind: 'remote' }>, options: Pick<ResolveModelOptions, 'onProgress'>): Promise<SnapshotPlan> {
  const { client, paths, model, pinned } = repo;
  // Every file is asked for at this commit, so a branch that moves meanwhile cannot mix versions.
  const commit = pinned.commit;
  const snapshotDir = paths.snapshot(commit);
  const present: string[] = [];
  let presentBytes = 0;
  for (const file of requiredModelFiles) {
    const size = await fileSize(paths.snapshotFile(commit, file));
    if (size === undefined) continue;
    present.push(file);
    presentBytes += size;
  }
  const empty = { commit, snapshotDir, wanted: [], presentBytes, wantedBytes: 0, missingBytes: 0, neededBytes: 0, blobComplete: new Set<string>() };
  if (present.length === requiredModelFiles.length) return { ...empty, complete: true };

  let listing: Map<string, HubSibling> | undefined;
  try {
    const info = await client.modelInfo(model, commit);
    if (info.sha && info.sha !== commit) {
      throw new ModelStoreError('http', `The hub listed commit ${info.sha} when asked for ${commit}. Try again later.`);
    }
    for (const sibling of info.siblings) assertSafeRepoPath(sibling.rfilename, 'the file name');
    listing = new Map(info.siblings.map((s) => [s.rfilename, s]));
  } catch (error) {
    // Mirrors without the model-info API still serve files with their headers, which suffice.
    if (!(error instanceof ModelStoreError) || error.code !== 'http' || error.message.startsWith('The hub listed')) throw error;
    options.onProgress?.({ status: 'message', level: 'info', text: `No file list from the hub (${error.message}); relying on the file headers.` });
  }
  if (listing) {
    const absent = requiredModelFiles.filter((file) => !listing.has(file));
    if (absent.length > 0) {
      throw new ModelStoreError(
        'missing-files',
        `${model} at ${commit} lacks ${absent.join(', ')}; Letterpress needs a diffusers model with safetensors weights.`,
      );
    }
  }

  const absent = requiredModelFiles.filter((file) => !present.includes(file));
  // A few HEADs at a time: a dozen sequential round trips to the hub add up to seconds.
  const wanted = await mapWithLimit(absent, 4, async (file) => {
    const meta = file === requiredModelFiles[0] ? pinned : await client.fileMetadata(model, commit, file);
    if (meta.commit !== commit) {
      throw new ModelStoreError('http', `The hub answered for ${file} with commit ${meta.commit} when asked for ${commit}. Try again later.`);
    }
    assertSafeBlobName(meta.etag, file);
    return remoteFile(client.resolveUrl(model, commit, file), file, meta, listing?.get(file));
  });

  let wantedBytes = 0;
  let missingBytes = 0;
  let neededBytes = 0;
  const blobComplete = new Set<string>();
  for (const file of wanted) {
    wantedBytes += file.size;
    const blob = await stat(paths.blob(file.etag)).catch(() => undefined);
    if (blob?.size === file.size) {
      blobComplete.add(file.path);
      continue;
    }
    missingBytes += file.size;
    const partial = (await stat(`${paths.blob(file.etag)}.incomplete`).catch(() => undefined))?.size ?? 0;
    neededBytes += partial <= file.size ? file.size - partial : file.size;
  }
  return { ...empty, complete: false, wanted, wantedBytes, missingBytes, neededBytes, blobComplete };
}

async function downloadSnapshot(repo: Extract<RepoLookup, { kind: 'remote' }>, plan: SnapshotPlan, options: ResolveModelOptions): Promise<ResolvedModel> {
  const { client, paths, model, revision } = repo;
  const { commit, snapshotDir } = plan;
  const message = (text: string) => options.onProgress?.({ status: 'message', level: 'info', text });

  if (plan.complete) {
    // Best effort: a shared, read-only cache still serves what it holds.
    await writeRef(paths, revision, commit).catch(() => undefined);
    return { modelDir: snapshotDir, source: 'cache', revision: commit };
  }

  const free = await (options.freeDiskSpace ?? freeDiskSpace)(paths.cacheDir);
  if (plan.neededBytes > free) {
    const needed = plan.neededBytes;
    throw new ModelStoreError(
      'disk-space',
      `Not enough free disk space for ${model}: the download needs ${formatBytes(needed)} (${needed} bytes) but ${paths.cacheDir} has ${formatBytes(free)} (${free} bytes) free. ` +
        'Free some space, or choose another cache folder (--cache-dir or HF_HUB_CACHE).',
    );
  }

  const progress = new DownloadProgress(plan.missingBytes, options.onProgress);
  // Each file is linked into the snapshot as soon as it is verified: when another file fails, the
  // finished ones are in place and the next run fetches only the rest.
  const limit = options.parallelDownloads ?? defaultParallelDownloads;
  await runParallelDownloads(plan.wanted, { limit, signal: options.signal }, async (file, signal) => {
    const blobPath = await downloadBlob(file, {
      client,
      paths,
      repoId: model,
      revision: commit,
      progress,
      inProgressTotal: !plan.blobComplete.has(file.path),
      signal,
      stallTimeoutMs: options.stallTimeoutMs,
      minBytesPerWindow: options.minBytesPerWindow,
      maxResumes: options.maxResumes,
      onMessage: message,
    });
    const how = await linkBlobIntoSnapshot(blobPath, paths.snapshotFile(commit, file.path));
    if (how !== 'symlink') message(`Symbolic links are not allowed here; ${file.path} was ${how === 'copy' ? 'copied' : 'hard-linked'} into the snapshot.`);
  });
  await writeRef(paths, revision, commit);
  return { modelDir: snapshotDir, source: 'download', revision: commit };
}
