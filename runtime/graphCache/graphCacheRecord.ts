// What makes a converted graph trusted: a record written with it (record.json) that names the
// content of its sources (each safetensors file's size and the SHA-256 of its header, which lists
// every tensor's name, type, shape and byte range) and of what was written (model.onnx's SHA-256;
// the weights file's size and header hash, and for a hard link the file it shares). The record is
// signed with a key that only this cache holds (`<cache>/record.key`, made on first use), so a
// folder planted with the right name — from an archive, a cloned repository, another machine —
// carries no valid record and is rebuilt instead of loaded. Checked on every load.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstat, open, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { headerLengthBytes, maxHeaderBytes } from '../safetensors/safetensorsFormat.ts';

export const recordFileName = 'record.json';
const keyFileName = 'record.key';
const maxRecordBytes = 1_000_000;

export interface SourceIdentity {
  /** Path relative to the model folder. */
  file: string;
  size: number;
  mtimeMs: number;
  headerSha256: string;
}

export interface OutputIdentity {
  file: string;
  size: number;
  /** model.onnx: the whole file; weights: the safetensors header. */
  sha256?: string;
  headerSha256?: string;
  /** A hard link to the model's own file: that file (relative to the model folder), its device and inode. */
  linkedTo?: { file: string; dev: number; ino: number };
}

export interface GraphRecord {
  format: 1;
  /** Folder name, which also carries the key. */
  name: string;
  key: string;
  converterVersion: number;
  component: string;
  precision: 'fp32' | 'fp16';
  /** Graph options: variant, linearMode, attentionMode (what a different provider may ask differently). */
  options: Record<string, string>;
  configSha256: string;
  model: string;
  revision?: string;
  /** The provider the conversion was made for, as far as the caller said. */
  provider?: string;
  sources: SourceIdentity[];
  outputs: OutputIdentity[];
  notes: string[];
  createdAt: string;
}

/** SHA-256 of a safetensors file's length prefix and JSON header: cheap (no tensor data read). */
export async function safetensorsHeaderSha256(path: string): Promise<{ size: number; headerSha256: string }> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path} is not a regular file`);
    const prefix = Buffer.alloc(headerLengthBytes);
    await handle.read(prefix, 0, headerLengthBytes, 0);
    const length = prefix.readBigUInt64LE(0);
    if (length > BigInt(maxHeaderBytes) || Number(length) + headerLengthBytes > info.size) {
      throw new Error(`${path} is not a safetensors file (header length ${length})`);
    }
    const header = Buffer.alloc(Number(length));
    await handle.read(header, 0, header.length, headerLengthBytes);
    return { size: info.size, headerSha256: createHash('sha256').update(prefix).update(header).digest('hex') };
  } finally {
    await handle.close();
  }
}

/** A weights file that cannot be read as safetensors still gets an identity (its size and time): the converter says what is wrong with it, or passes over it. */
export async function sourceIdentity(modelDir: string, relative: string): Promise<SourceIdentity> {
  const path = join(modelDir, relative);
  const info = await stat(path);
  const headerSha256 = await safetensorsHeaderSha256(path).then(
    (h) => h.headerSha256,
    () => 'unreadable',
  );
  return { file: relative, size: info.size, mtimeMs: info.mtimeMs, headerSha256 };
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await handle.close().catch(() => {});
  }
  return hash.digest('hex');
}

/** Identities of a conversion's files, as written; `weightsSource` is the model file the weights came from (perhaps as a hard link). */
export async function outputIdentities(dir: string, modelDir: string, weightsSource: string): Promise<OutputIdentity[]> {
  const onnx = join(dir, 'model.onnx');
  const weights = join(dir, 'weights.safetensors');
  const out: OutputIdentity[] = [{ file: 'model.onnx', size: (await stat(onnx)).size, sha256: await fileSha256(onnx) }];
  const w = await safetensorsHeaderSha256(weights);
  const written = await stat(weights);
  let linkedTo: OutputIdentity['linkedTo'];
  const source = await stat(await realpath(weightsSource));
  if (source.ino === written.ino && source.dev === written.dev) {
    linkedTo = { file: relative(modelDir, weightsSource), dev: source.dev, ino: source.ino };
  }
  out.push({ file: 'weights.safetensors', ...w, ...(linkedTo ? { linkedTo } : {}) });
  return out;
}

// ---- signing ---------------------------------------------------------------------------------

const keys = new Map<string, Promise<Buffer>>();

/** The cache's signing key, made once (exclusively, readable by this user only). */
export function recordKey(cacheRoot: string): Promise<Buffer> {
  let key = keys.get(cacheRoot);
  if (!key) {
    key = loadOrMakeKey(cacheRoot);
    keys.set(cacheRoot, key);
    key.catch(() => keys.delete(cacheRoot));
  }
  return key;
}

async function loadOrMakeKey(cacheRoot: string): Promise<Buffer> {
  const path = join(cacheRoot, keyFileName);
  for (let attempt = 0; attempt < 2; attempt++) {
    const info = await lstat(path).catch(() => null);
    if (info) {
      if (!info.isFile()) throw new Error(`${path} is not a regular file; remove it and Letterpress will make a new key`);
      const key = await readFile(path);
      if (key.length === 32) return key;
      throw new Error(`${path} is not a Letterpress key; remove it and Letterpress will make a new one`);
    }
    try {
      // Exclusive: never through a link planted at the name, never over another process's key.
      await writeFile(path, randomBytes(32), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`could not read or make ${path}`);
}

function signature(key: Buffer, record: GraphRecord): string {
  return createHmac('sha256', key).update(JSON.stringify(record)).digest('hex');
}

export function signedRecordText(key: Buffer, record: GraphRecord): string {
  return JSON.stringify({ record, signature: signature(key, record) });
}

/** The record of a conversion folder when it is one this cache signed; null for anything else. */
export async function readSignedRecord(key: Buffer, dir: string): Promise<GraphRecord | null> {
  const path = join(dir, recordFileName);
  const info = await lstat(path).catch(() => null);
  if (!info?.isFile() || info.size > maxRecordBytes) return null;
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { record?: GraphRecord; signature?: string };
    if (!parsed.record || typeof parsed.signature !== 'string') return null;
    const expected = Buffer.from(signature(key, parsed.record), 'hex');
    const given = Buffer.from(parsed.signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected) ? parsed.record : null;
  } catch {
    return null;
  }
}

/**
 * Why the folder's files are not what its record says, or undefined when they are. Each file must
 * be a regular file (not a link) of the recorded size and hash; a recorded hard link must still be
 * the model's file.
 */
export async function outputMismatch(dir: string, record: GraphRecord, modelDir: string): Promise<string | undefined> {
  for (const expected of record.outputs) {
    const path = join(dir, expected.file);
    const info = await lstat(path).catch(() => null);
    if (!info?.isFile()) return `${expected.file} is missing or not a regular file`;
    if (info.size !== expected.size) return `${expected.file} has ${info.size} bytes, the record says ${expected.size}`;
    if (expected.sha256 && (await fileSha256(path)) !== expected.sha256) return `${expected.file} is not the file that was written`;
    if (expected.headerSha256 && (await safetensorsHeaderSha256(path)).headerSha256 !== expected.headerSha256) {
      return `${expected.file} has another header than the one written`;
    }
    if (expected.linkedTo) {
      if (info.ino !== expected.linkedTo.ino || info.dev !== expected.linkedTo.dev) return `${expected.file} is no longer the model's file`;
      const source = await stat(await realpath(join(modelDir, expected.linkedTo.file))).catch(() => null);
      if (!source || source.ino !== info.ino || source.dev !== info.dev) return `${expected.file} is no longer the model's file`;
    }
  }
  return undefined;
}
