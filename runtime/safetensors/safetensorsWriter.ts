// Streaming safetensors writer: the header is known up front from names, dtypes and shapes, so
// each tensor's bytes can be produced (converted, cast) and written one at a time. Written through
// runtime/files/newFiles.ts (an exclusive, randomly named temp file beside the target, then placed
// atomically), so readers never see a half-written file and no link is ever written through.
import type { FileHandle } from 'node:fs/promises';
import { writeNewFile } from '../files/newFiles.ts';
import {
  SafetensorsError,
  dtypeByteSizes,
  headerLengthBytes,
  isSafetensorsDtype,
  maxHeaderBytes,
} from './safetensorsFormat.ts';
import type { SafetensorsDtype } from './safetensorsFormat.ts';

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
}

export interface SafetensorsTensorData {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Little-endian element bytes, e.g. a Float32Array for F32 or a Uint16Array of bits for F16. */
  data: ArrayBufferView;
}

export type ProduceTensor = (entry: SafetensorsEntry, index: number) => ArrayBufferView | Promise<ArrayBufferView>;

export interface WriteSafetensorsOptions {
  /** Replace an existing file at the path (the default); false refuses with FileExistsError. */
  overwrite?: boolean;
}

export async function writeSafetensors(
  path: string,
  entries: readonly SafetensorsEntry[],
  produce: ProduceTensor,
  metadata?: Record<string, string>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  await writeNewFile(path, safetensorsWriter(path, entries, produce, metadata), { overwrite: options.overwrite ?? true });
}

/**
 * Writes the file's bytes through an open handle: what writeNewFile (runtime/files/newFiles.ts)
 * takes, for callers that place the file themselves. The header is checked before anything is written.
 */
export function safetensorsWriter(
  path: string,
  entries: readonly SafetensorsEntry[],
  produce: ProduceTensor,
  metadata?: Record<string, string>,
): (handle: FileHandle) => Promise<void> {
  const { header, byteLengths } = buildHeader(path, entries, metadata);
  return async (handle) => {
    const prefix = Buffer.alloc(headerLengthBytes);
    prefix.writeBigUInt64LE(BigInt(header.length));
    await writeAll(handle, prefix);
    await writeAll(handle, header);
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index];
      const view = await produce(entry, index);
      if (view.byteLength !== byteLengths[index]) {
        throw new SafetensorsError(
          path,
          `tensor ${JSON.stringify(entry.name)}: ${entry.dtype} shape [${entry.shape.join(', ')}] needs ${byteLengths[index]} bytes but ${view.byteLength} were given`,
        );
      }
      await writeAll(handle, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    }
  };
}

function tensorEntries(tensors: Record<string, SafetensorsTensorData>): { entries: SafetensorsEntry[]; produce: ProduceTensor } {
  const names = Object.keys(tensors);
  return {
    entries: names.map((name) => ({ name, dtype: tensors[name].dtype, shape: tensors[name].shape })),
    produce: (_entry, index) => tensors[names[index]].data,
  };
}

export async function writeSafetensorsTensors(
  path: string,
  tensors: Record<string, SafetensorsTensorData>,
  metadata?: Record<string, string>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const { entries, produce } = tensorEntries(tensors);
  await writeSafetensors(path, entries, produce, metadata, options);
}

/** The writer for in-memory tensors (see safetensorsWriter). */
export function safetensorsTensorsWriter(
  path: string,
  tensors: Record<string, SafetensorsTensorData>,
  metadata?: Record<string, string>,
): (handle: FileHandle) => Promise<void> {
  const { entries, produce } = tensorEntries(tensors);
  return safetensorsWriter(path, entries, produce, metadata);
}

function buildHeader(
  path: string,
  entries: readonly SafetensorsEntry[],
  metadata: Record<string, string> | undefined,
): { header: Buffer; byteLengths: number[] } {
  const bad = (problem: string): never => {
    throw new SafetensorsError(path, problem);
  };
  // Built by hand rather than from an object: JS objects move integer-like keys ("0", "1") first.
  const parts: string[] = [];
  const seen = new Set<string>();
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') bad(`metadata ${JSON.stringify(key)} must be a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const byteLengths: number[] = [];
  let offset = 0;
  for (const { name, dtype, shape } of entries) {
    const label = `tensor ${JSON.stringify(name)}`;
    if (name === '__metadata__') bad('"__metadata__" cannot be a tensor name');
    if (seen.has(name)) bad(`${label} appears twice`);
    seen.add(name);
    if (!isSafetensorsDtype(dtype)) bad(`${label}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      bad(`${label}: shape [${shape.join(', ')}] must hold non-negative integers`);
    }
    const byteLength = shape.reduce((product, dim) => product * dim, 1) * dtypeByteSizes[dtype];
    if (!Number.isSafeInteger(byteLength)) bad(`${label}: shape [${shape.join(', ')}] is too large`);
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape, data_offsets: [offset, offset + byteLength] })}`);
    byteLengths.push(byteLength);
    offset += byteLength;
  }
  const text = `{${parts.join(',')}}`;
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const unpadded = Buffer.byteLength(text);
  const padded = Math.ceil(unpadded / 8) * 8;
  if (padded > maxHeaderBytes) bad(`the header would be ${padded} bytes, over the 100 MB limit`);
  const header = Buffer.alloc(padded, 0x20);
  header.write(text, 0, 'utf8');
  return { header, byteLengths };
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  // Node's write takes at most 2 GiB per call and may write less than asked.
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.length - done, 1 << 30));
    done += bytesWritten;
  }
}
