// Text metadata in PNG files (tEXt, zTXt, iTXt), as other Stable Diffusion tools store their
// generation parameters. Only the chunk layer is touched: pixels are never re-encoded.
import { crc32, inflateSync } from 'node:zlib';
import { openRegularFile } from '../files/readRegularFile.ts';

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export class PngFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngFormatError';
  }
}

/**
 * Bounds on what reading a PNG's text may cost. A zTXt/iTXt chunk of a few hundred kilobytes can
 * inflate to gigabytes (a decompression bomb), and a file can hold millions of chunks; generation
 * parameters are a few kilobytes, so these leave room for any honest file.
 */
export interface PngTextLimits {
  /** Largest text of one chunk, after inflation, in bytes. */
  maxChunkBytes: number;
  /** Largest text of all chunks together, after inflation, in bytes. */
  maxTotalBytes: number;
  /** Most text chunks (tEXt, zTXt, iTXt) read from one file. */
  maxTextChunks: number;
  /** Most chunks of any kind walked over in one file. */
  maxChunks: number;
}

export const pngTextLimits: PngTextLimits = {
  maxChunkBytes: 1 << 20,
  maxTotalBytes: 4 << 20,
  maxTextChunks: 1024,
  maxChunks: 200_000,
};

interface PngChunk {
  type: string;
  /** Offset of the chunk's length field; the chunk spans [start, start + 12 + data.length). */
  start: number;
  data: Buffer;
}

const textChunkTypes = new Set(['tEXt', 'zTXt', 'iTXt']);

function* pngChunks(png: Buffer, maxChunks = pngTextLimits.maxChunks): Generator<PngChunk> {
  if (png.length < pngSignature.length || !png.subarray(0, 8).equals(pngSignature)) {
    throw new PngFormatError('not a PNG file (bad signature)');
  }
  let offset = 8;
  let count = 0;
  while (offset < png.length) {
    if (++count > maxChunks) throw new PngFormatError(`more than ${maxChunks} PNG chunks: not read further`);
    if (offset + 12 > png.length) throw new PngFormatError(`truncated PNG chunk header at byte ${offset}`);
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > png.length) throw new PngFormatError(`PNG chunk ${type} at byte ${offset} runs past the end of the file`);
    yield { type, start: offset, data: png.subarray(offset + 8, offset + 8 + length) };
    offset = end;
    if (type === 'IEND') return;
  }
}

/**
 * Throws a PngFormatError saying "not a complete PNG" unless the file is a PNG whose chunks run,
 * whole, from the signature to IEND. Decoders report a cut-off file in their own words (libpng:
 * "read error"); this says what is wrong before any pixel is decoded.
 */
export function checkCompletePng(png: Buffer): void {
  if (png.length < pngSignature.length || !png.subarray(0, 8).equals(pngSignature)) {
    throw new PngFormatError('not a PNG file (bad signature)');
  }
  let offset = 8;
  let sawHeader = false;
  let sawData = false;
  while (offset + 12 <= png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > png.length) break;
    if (offset === 8 && type !== 'IHDR') throw new PngFormatError('not a valid PNG: it does not start with an IHDR chunk');
    sawHeader ||= type === 'IHDR';
    sawData ||= type === 'IDAT';
    if (type === 'IEND') {
      if (!sawHeader || !sawData) throw new PngFormatError('not a complete PNG: it has no image data');
      return;
    }
    offset = end;
  }
  throw new PngFormatError(`not a complete PNG: the file ends at byte ${png.length}, before its end marker (IEND); it was probably cut off while being copied or downloaded`);
}

function inflateBounded(data: Buffer, key: string, budget: number, limits: PngTextLimits): Buffer {
  const allowed = Math.min(limits.maxChunkBytes, budget);
  try {
    // maxOutputLength stops inflation as soon as the output passes the bound: a bomb costs at most
    // that much memory and the time to produce it, not the gigabytes it would expand to.
    return inflateSync(data, { maxOutputLength: Math.max(1, allowed) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new PngFormatError(
        allowed < limits.maxChunkBytes
          ? `the PNG's text chunks inflate to more than ${limits.maxTotalBytes} bytes in all: not read further (a decompression bomb?)`
          : `PNG text chunk "${key}" inflates to more than ${limits.maxChunkBytes} bytes: not read (a decompression bomb?)`,
      );
    }
    throw new PngFormatError(`PNG text chunk "${key}" is not valid compressed data (${(error as Error).message})`);
  }
}

/** Keyword and text of one tEXt/zTXt/iTXt chunk; undefined for a malformed one. `budget`: bytes of text left. */
function decodeTextChunk(type: string, data: Buffer, budget: number, limits: PngTextLimits): [key: string, text: Buffer, utf8: boolean] | undefined {
  const keyEnd = data.indexOf(0);
  if (keyEnd <= 0 || keyEnd > 79) return undefined;
  const key = data.toString('latin1', 0, keyEnd);
  if (type === 'tEXt') return [key, data.subarray(keyEnd + 1), false];
  if (type === 'zTXt') {
    // keyword \0 method(0 = deflate) compressed-text
    return [key, inflateBounded(data.subarray(keyEnd + 2), key, budget, limits), false];
  }
  // iTXt: keyword \0 compressed-flag method language-tag \0 translated-keyword \0 text (UTF-8)
  const compressed = data[keyEnd + 1] === 1;
  const languageEnd = data.indexOf(0, keyEnd + 3);
  if (languageEnd < 0) return undefined;
  const translatedEnd = data.indexOf(0, languageEnd + 1);
  if (translatedEnd < 0) return undefined;
  const body = data.subarray(translatedEnd + 1);
  return [key, compressed ? inflateBounded(body, key, budget, limits) : body, true];
}

/** Collects text chunks within the limits. */
class TextCollector {
  readonly out: Record<string, string> = {};
  private count = 0;
  private total = 0;

  constructor(
    private readonly limits: PngTextLimits,
    private readonly keys?: ReadonlySet<string>,
  ) {}

  add(type: string, data: Buffer): void {
    if (++this.count > this.limits.maxTextChunks) {
      throw new PngFormatError(`the PNG has more than ${this.limits.maxTextChunks} text chunks: not read further`);
    }
    if (type === 'tEXt' || (type === 'iTXt' && data[data.indexOf(0) + 1] !== 1)) {
      // Stored text: bounded by the chunk itself, but still counted against the totals.
      if (data.length > this.limits.maxChunkBytes + 80) {
        throw new PngFormatError(`a PNG text chunk holds more than ${this.limits.maxChunkBytes} bytes: not read`);
      }
    }
    const entry = decodeTextChunk(type, data, this.limits.maxTotalBytes - this.total, this.limits);
    if (!entry) return;
    const [key, text, utf8] = entry;
    this.total += text.length;
    if (this.total > this.limits.maxTotalBytes) {
      throw new PngFormatError(`the PNG's text chunks hold more than ${this.limits.maxTotalBytes} bytes in all: not read further`);
    }
    if (this.keys && !this.keys.has(key)) return;
    // defineProperty, not assignment: a keyword such as "__proto__" in a crafted file is a key like
    // any other, not a way to set the record's prototype.
    Object.defineProperty(this.out, key, { value: text.toString(utf8 ? 'utf8' : 'latin1'), enumerable: true, writable: true, configurable: true });
  }
}

/**
 * Every textual chunk of the file by keyword; a later chunk with the same keyword wins. Throws a
 * PngFormatError for a file past the limits (see PngTextLimits).
 */
export function readPngTextChunks(png: Buffer, limits: PngTextLimits = pngTextLimits): Record<string, string> {
  const collector = new TextCollector(limits);
  for (const chunk of pngChunks(png, limits.maxChunks)) {
    if (textChunkTypes.has(chunk.type)) collector.add(chunk.type, chunk.data);
  }
  return collector.out;
}

/**
 * The text chunks of a PNG file, read from disk without loading the file: only chunk headers and
 * text chunks are read, image data is skipped over. Only a regular file is read (see
 * readRegularFile); `keys` keeps just those keywords. Throws PngFormatError for a damaged file or one
 * past the limits, FileReadError when the file cannot be read.
 */
export async function readPngTextChunksFromFile(
  path: string,
  options: { keys?: readonly string[]; limits?: PngTextLimits } = {},
): Promise<Record<string, string>> {
  const limits = options.limits ?? pngTextLimits;
  const collector = new TextCollector(limits, options.keys ? new Set(options.keys) : undefined);
  const { handle, size } = await openRegularFile(path, 'image');
  try {
    const head = Buffer.alloc(8);
    const readAt = async (buffer: Buffer, position: number): Promise<number> => {
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled;
    };
    if ((await readAt(head, 0)) < 8 || !head.equals(pngSignature)) throw new PngFormatError('not a PNG file (bad signature)');
    // Chunk headers are read through a window, so thousands of small chunks cost a few reads.
    const window = Buffer.alloc(64 << 10);
    let windowStart = 0;
    let windowLength = 0;
    let offset = 8;
    let count = 0;
    while (offset < size) {
      if (++count > limits.maxChunks) throw new PngFormatError(`more than ${limits.maxChunks} PNG chunks: not read further`);
      if (offset < windowStart || offset + 8 > windowStart + windowLength) {
        windowStart = offset;
        windowLength = await readAt(window, offset);
      }
      if (offset + 8 > windowStart + windowLength) throw new PngFormatError(`truncated PNG chunk header at byte ${offset}`);
      const length = window.readUInt32BE(offset - windowStart);
      const type = window.toString('latin1', offset - windowStart + 4, offset - windowStart + 8);
      const end = offset + 12 + length;
      if (end > size) throw new PngFormatError(`PNG chunk ${type} at byte ${offset} runs past the end of the file`);
      if (textChunkTypes.has(type)) {
        // A compressed text larger than the bound would inflate past it too: not even read.
        if (length > limits.maxChunkBytes + 80) throw new PngFormatError(`a PNG text chunk holds more than ${limits.maxChunkBytes} bytes: not read`);
        let data: Buffer;
        if (offset + 8 + length <= windowStart + windowLength) {
          data = Buffer.from(window.subarray(offset - windowStart + 8, offset - windowStart + 8 + length));
        } else {
          data = Buffer.alloc(length);
          if ((await readAt(data, offset + 8)) < length) throw new PngFormatError(`PNG chunk ${type} at byte ${offset} runs past the end of the file`);
        }
        collector.add(type, data);
      }
      offset = end;
      if (type === 'IEND') break;
    }
    return collector.out;
  } finally {
    await handle.close();
  }
}

function isLatin1(text: string): boolean {
  // PNG's tEXt is ISO 8859-1 without most control characters; a linefeed is allowed.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || (c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) return false;
  }
  return true;
}

function validKeyword(key: string): boolean {
  // 1-79 printable Latin-1 characters, no leading, trailing or doubled spaces.
  if (key.length < 1 || key.length > 79) return false;
  if (key.startsWith(' ') || key.endsWith(' ') || key.includes('  ')) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || (c > 0x7e && c < 0xa1) || c > 0xff) return false;
  }
  return true;
}

/** One PNG chunk: length, type, data and the CRC over type and data. */
export function makePngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

function textChunk(key: string, text: string): Buffer {
  if (!validKeyword(key)) throw new RangeError(`invalid PNG text keyword ${JSON.stringify(key)}`);
  const keyBytes = Buffer.from(key, 'latin1');
  return isLatin1(text)
    ? makePngChunk('tEXt', Buffer.concat([keyBytes, Buffer.from([0]), Buffer.from(text, 'latin1')]))
    : makePngChunk(
        'iTXt',
        // keyword \0, not compressed, method 0, empty language tag \0, empty translated keyword \0
        Buffer.concat([keyBytes, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]),
      );
}

/**
 * Returns a copy of the PNG with more text chunks, placed before the first IDAT so that readers
 * which stop at the image data still see them. tEXt when the text is Latin-1 (what most readers
 * expect), otherwise an uncompressed UTF-8 iTXt, as PIL does. All chunks go in with one copy of the
 * file, so adding many costs no more than their size.
 */
export function addPngTextChunks(png: Buffer, entries: Iterable<readonly [key: string, text: string]>): Buffer {
  const chunks = [...entries].map(([key, text]) => textChunk(key, text));
  let insertAt: number | undefined;
  for (const chunk of pngChunks(png, Number.MAX_SAFE_INTEGER)) {
    if (chunk.type === 'IDAT') {
      insertAt = chunk.start;
      break;
    }
  }
  if (insertAt === undefined) throw new PngFormatError('PNG file has no image data (IDAT chunk)');
  if (chunks.length === 0) return png;
  return Buffer.concat([png.subarray(0, insertAt), ...chunks, png.subarray(insertAt)]);
}

/** addPngTextChunks with one chunk. */
export function addPngTextChunk(png: Buffer, key: string, text: string): Buffer {
  return addPngTextChunks(png, [[key, text]]);
}
