// Streaming safetensors reader: parses and validates the header as strictly as the reference
// reader (plus duplicate keys, which serde would also reject), then reads one tensor at a time
// with positional reads, so a multi-GB checkpoint never sits in memory whole.
import { open } from 'node:fs/promises';
import { readOnlyNoWait } from '../files/readRegularFile.ts';
import type { FileHandle } from 'node:fs/promises';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from './float16.ts';
import {
  SafetensorsError,
  dtypeByteSizes,
  headerLengthBytes,
  isSafetensorsDtype,
  maxHeaderBytes,
} from './safetensorsFormat.ts';
import type { SafetensorsDtype } from './safetensorsFormat.ts';
import { JsonNumber, StrictJsonError, parseStrictJson } from './strictJson.ts';
import type { JsonValue } from './strictJson.ts';

export { SafetensorsError } from './safetensorsFormat.ts';
export type { SafetensorsDtype } from './safetensorsFormat.ts';

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute offset of the tensor's first byte in the file. */
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsFile {
  path: string;
  fileSize: number;
  /** Absolute offset where the data section (the tensors' bytes) begins. */
  dataStart: number;
  metadata: Record<string, string>;
  /** In the order of their data in the file. */
  tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  /** The tensor's raw little-endian bytes in a fresh buffer of its own (offset 0, so aligned). */
  readBytes(name: string): Promise<Buffer>;
  /** F32 as is; F16, BF16 and F64 converted. */
  readFloat32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface ParsedSafetensorsHeader {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensorInfo>;
}

// Node refuses single reads above 2 GiB; chunks also keep each syscall reasonable.
const readChunkBytes = 1 << 30;

export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, readOnlyNoWait);
  } catch (error) {
    throw new SafetensorsError(path, `cannot open the file (${describeIoError(error)})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new SafetensorsError(path, 'it is not a regular file (a folder, pipe or device)');
    const fileSize = info.size;
    if (fileSize < headerLengthBytes) {
      throw new SafetensorsError(
        path,
        `the file is ${fileSize} bytes long, too short to hold the 8-byte header length (truncated or not a safetensors file)`,
      );
    }
    const prefix = await readExactly(handle, path, 0, headerLengthBytes);
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(maxHeaderBytes)) {
      throw new SafetensorsError(
        path,
        `the header length field says ${headerLength} bytes, more than the 100 MB limit (corrupt or not a safetensors file)`,
      );
    }
    const headerBytes = Number(headerLength);
    if (headerLengthBytes + headerBytes > fileSize) {
      throw new SafetensorsError(
        path,
        `the header should be ${headerBytes} bytes but only ${fileSize - headerLengthBytes} follow the length field (the file is truncated)`,
      );
    }
    const header = await readExactly(handle, path, headerLengthBytes, headerBytes);
    const dataStart = headerLengthBytes + headerBytes;
    const parsed = parseSafetensorsHeader(path, header, fileSize - dataStart, dataStart);
    return new OpenSafetensorsFile(handle, path, fileSize, dataStart, parsed);
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/** Validates a header (the bytes between the length field and the data) against the data size. */
export function parseSafetensorsHeader(
  path: string,
  header: Uint8Array,
  dataBytes: number,
  dataStart: number,
): ParsedSafetensorsHeader {
  const bad = (problem: string): never => {
    throw new SafetensorsError(path, problem);
  };
  if (header.length === 0 || header[0] !== 0x7b) {
    bad('the header does not start with "{" (corrupt or not a safetensors file)');
  }
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(header);
  } catch {
    bad('the header is not valid UTF-8');
  }
  let root: JsonValue = null;
  try {
    root = parseStrictJson(text);
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    if (error.duplicateKey !== undefined) {
      bad(`the header has the key ${JSON.stringify(error.duplicateKey)} twice in one object (${error.message}); readers could disagree on which copy counts`);
    }
    bad(`the header is not valid JSON: ${error.message}`);
  }
  if (!(root instanceof Map)) return bad('the header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; start: bigint; end: bigint }[] = [];
  for (const [name, value] of root) {
    if (name === '__metadata__') {
      if (value === null) continue;
      if (!(value instanceof Map)) bad('"__metadata__" is not an object of strings');
      for (const [key, text] of value as Map<string, JsonValue>) {
        if (typeof text !== 'string') bad(`"__metadata__" entry ${JSON.stringify(key)} is not a string`);
        metadata[key] = text as string;
      }
      continue;
    }
    const label = `tensor ${JSON.stringify(name)}`;
    if (!(value instanceof Map)) return bad(`${label}: its header entry is not an object`);
    const dtype = value.get('dtype');
    if (dtype === undefined) bad(`${label}: no "dtype"`);
    if (!isSafetensorsDtype(dtype)) {
      return bad(`${label}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(dtypeByteSizes).join(', ')})`);
    }
    const shapeValue = value.get('shape');
    if (!Array.isArray(shapeValue)) return bad(`${label}: "shape" is missing or not an array`);
    const shape = shapeValue.map((dim) => {
      const n = nonNegativeInteger(dim);
      if (n === undefined) bad(`${label}: shape ${describeJson(shapeValue)} has a dimension that is not a non-negative integer`);
      if (n! > BigInt(Number.MAX_SAFE_INTEGER)) bad(`${label}: shape dimension ${n} is too large`);
      return Number(n);
    });
    const offsets = value.get('data_offsets');
    const start = Array.isArray(offsets) && offsets.length === 2 ? nonNegativeInteger(offsets[0]) : undefined;
    const end = Array.isArray(offsets) && offsets.length === 2 ? nonNegativeInteger(offsets[1]) : undefined;
    if (start === undefined || end === undefined) {
      return bad(`${label}: "data_offsets" must be two non-negative integers, got ${describeJson(offsets)}`);
    }
    entries.push({ name, dtype, shape, start, end });
  }

  entries.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  const tensors = new Map<string, SafetensorsTensorInfo>();
  let expectedStart = 0n;
  let previous = '';
  for (const { name, dtype, shape, start, end } of entries) {
    const label = `tensor ${JSON.stringify(name)}`;
    if (end < start) bad(`${label}: data_offsets [${start}, ${end}] end before they start`);
    if (start > expectedStart) {
      bad(
        previous
          ? `${label}: a gap of ${start - expectedStart} unused bytes lies between it and tensor ${JSON.stringify(previous)}`
          : `${label}: the data does not start at offset 0 (${start} unused bytes first)`,
      );
    }
    if (start < expectedStart) {
      bad(`${label}: its data_offsets [${start}, ${end}] overlap tensor ${JSON.stringify(previous)} (which ends at ${expectedStart})`);
    }
    // BigInt: a forged shape must not wrap around and pass the size check.
    const elements = shape.reduce((product, dim) => product * BigInt(dim), 1n);
    const expectedBytes = elements * BigInt(dtypeByteSizes[dtype]);
    if (end - start !== expectedBytes) {
      bad(
        `${label}: ${dtype} shape [${shape.join(', ')}] needs ${expectedBytes} bytes but data_offsets [${start}, ${end}] hold ${end - start}`,
      );
    }
    if (end > BigInt(dataBytes)) {
      bad(`${label}: its data ends at ${end} but the file holds only ${dataBytes} bytes of data (the file is truncated)`);
    }
    tensors.set(name, {
      name,
      dtype,
      shape,
      byteOffset: dataStart + Number(start),
      byteLength: Number(end - start),
    });
    expectedStart = end;
    previous = name;
  }
  if (expectedStart !== BigInt(dataBytes)) {
    bad(`the tensors' data ends at ${expectedStart} but ${dataBytes - Number(expectedStart)} more bytes follow (trailing bytes after the last tensor)`);
  }
  return { metadata, tensors };
}

class OpenSafetensorsFile implements SafetensorsFile {
  readonly metadata: Record<string, string>;
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  private handle: FileHandle | undefined;

  constructor(
    handle: FileHandle,
    readonly path: string,
    readonly fileSize: number,
    readonly dataStart: number,
    parsed: ParsedSafetensorsHeader,
  ) {
    this.handle = handle;
    this.metadata = parsed.metadata;
    this.tensors = parsed.tensors;
  }

  private info(name: string): SafetensorsTensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(this.path, `no tensor named ${JSON.stringify(name)}`);
    return info;
  }

  async readBytes(name: string): Promise<Buffer> {
    const info = this.info(name);
    if (!this.handle) throw new SafetensorsError(this.path, `cannot read tensor ${JSON.stringify(name)}: the file was closed`);
    return readExactly(this.handle, this.path, info.byteOffset, info.byteLength);
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    const bytes = await this.readBytes(name);
    const count = info.byteLength / dtypeByteSizes[info.dtype];
    switch (info.dtype) {
      case 'F32':
        return new Float32Array(bytes.buffer, bytes.byteOffset, count);
      case 'F16':
        return float16BitsToFloat32(new Uint16Array(bytes.buffer, bytes.byteOffset, count));
      case 'BF16':
        return bfloat16BitsToFloat32(new Uint16Array(bytes.buffer, bytes.byteOffset, count));
      case 'F64':
        return Float32Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, count));
      default:
        throw new SafetensorsError(
          this.path,
          `tensor ${JSON.stringify(name)} holds ${info.dtype} values, not floating point (F32, F16, BF16 or F64)`,
        );
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

/** Reads `length` bytes at `position` into a buffer that owns its memory from offset 0. */
async function readExactly(handle: FileHandle, path: string, position: number, length: number): Promise<Buffer> {
  // allocUnsafeSlow: never a slice of Node's shared pool, so typed-array views on it are aligned.
  const buffer = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, done, Math.min(readChunkBytes, length - done), position + done));
    } catch (error) {
      throw new SafetensorsError(path, `reading ${length} bytes at offset ${position} failed (${describeIoError(error)})`);
    }
    if (bytesRead === 0) {
      throw new SafetensorsError(path, `the file ended early at offset ${position + done} (was it truncated while open?)`);
    }
    done += bytesRead;
  }
  return buffer;
}

function nonNegativeInteger(value: JsonValue | undefined): bigint | undefined {
  if (!(value instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(value.text)) return undefined;
  return BigInt(value.text);
}

function describeJson(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return `[${value.map(describeJson).join(', ')}]`;
  if (value instanceof Map) return 'an object';
  return JSON.stringify(value);
}

function describeIoError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
