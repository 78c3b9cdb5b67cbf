// Text metadata in PNG files (tEXt, zTXt, iTXt), as other Stable Diffusion tools store their
// generation parameters. Only the chunk layer is touched: pixels are never re-encoded.
import { crc32, inflateSync } from 'node:zlib';

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export class PngFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngFormatError';
  }
}

interface PngChunk {
  type: string;
  /** Offset of the chunk's length field; the chunk spans [start, start + 12 + data.length). */
  start: number;
  data: Buffer;
}

function* pngChunks(png: Buffer): Generator<PngChunk> {
  if (png.length < pngSignature.length || !png.subarray(0, 8).equals(pngSignature)) {
    throw new PngFormatError('not a PNG file (bad signature)');
  }
  let offset = 8;
  while (offset < png.length) {
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

function decodeTextChunk(chunk: PngChunk): [key: string, text: string] | undefined {
  const { data } = chunk;
  const keyEnd = data.indexOf(0);
  if (keyEnd <= 0) return undefined;
  const key = data.toString('latin1', 0, keyEnd);
  if (chunk.type === 'tEXt') return [key, data.toString('latin1', keyEnd + 1)];
  if (chunk.type === 'zTXt') {
    // keyword \0 method(0 = deflate) compressed-text
    return [key, inflateSync(data.subarray(keyEnd + 2)).toString('latin1')];
  }
  // iTXt: keyword \0 compressed-flag method language-tag \0 translated-keyword \0 text (UTF-8)
  const compressed = data[keyEnd + 1] === 1;
  const languageEnd = data.indexOf(0, keyEnd + 3);
  if (languageEnd < 0) return undefined;
  const translatedEnd = data.indexOf(0, languageEnd + 1);
  if (translatedEnd < 0) return undefined;
  const body = data.subarray(translatedEnd + 1);
  return [key, (compressed ? inflateSync(body) : body).toString('utf8')];
}

/** Every textual chunk of the file by keyword; a later chunk with the same keyword wins. */
export function readPngTextChunks(png: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const chunk of pngChunks(png)) {
    if (chunk.type !== 'tEXt' && chunk.type !== 'zTXt' && chunk.type !== 'iTXt') continue;
    const entry = decodeTextChunk(chunk);
    if (entry) out[entry[0]] = entry[1];
  }
  return out;
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

/**
 * Returns a copy of the PNG with one more text chunk, placed before the first IDAT so that readers
 * which stop at the image data still see it. tEXt when the text is Latin-1 (what most readers
 * expect), otherwise an uncompressed UTF-8 iTXt, as PIL does.
 */
export function addPngTextChunk(png: Buffer, key: string, text: string): Buffer {
  if (!validKeyword(key)) throw new RangeError(`invalid PNG text keyword ${JSON.stringify(key)}`);
  let insertAt: number | undefined;
  for (const chunk of pngChunks(png)) {
    if (chunk.type === 'IDAT') {
      insertAt = chunk.start;
      break;
    }
  }
  if (insertAt === undefined) throw new PngFormatError('PNG file has no image data (IDAT chunk)');
  const keyBytes = Buffer.from(key, 'latin1');
  const chunk = isLatin1(text)
    ? makePngChunk('tEXt', Buffer.concat([keyBytes, Buffer.from([0]), Buffer.from(text, 'latin1')]))
    : makePngChunk(
        'iTXt',
        // keyword \0, not compressed, method 0, empty language tag \0, empty translated keyword \0
        Buffer.concat([keyBytes, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]),
      );
  return Buffer.concat([png.subarray(0, insertAt), chunk, png.subarray(insertAt)]);
}
