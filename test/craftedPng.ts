// Hostile PNG files made by the tests themselves: decompression bombs in text chunks, headers that
// claim more pixels than the data holds, files with very many chunks, cut-off files.
import { deflateSync } from 'node:zlib';
import { makePngChunk } from '../runtime/png/pngTextChunks.ts';

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8; // bit depth
  data[9] = 2; // RGB
  return makePngChunk('IHDR', data);
}

/** A valid width×height RGB PNG (grey) with `extra` chunks before its image data. */
export function smallPng(width: number, height: number, extra: Buffer[] = []): Buffer {
  const row = Buffer.alloc(1 + width * 3, 0x80);
  row[0] = 0; // filter: none
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([signature, ihdr(width, height), ...extra, makePngChunk('IDAT', deflateSync(raw)), makePngChunk('IEND', Buffer.alloc(0))]);
}

/** A zTXt chunk whose `keyword` text inflates to `inflatedBytes` spaces from a small compressed body. */
export function zTxtBomb(keyword: string, inflatedBytes: number): Buffer {
  const compressed = deflateSync(Buffer.alloc(inflatedBytes, 0x20), { level: 9 });
  return makePngChunk('zTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0]), compressed]));
}

/** A tEXt chunk. */
export function tEXt(keyword: string, text: string): Buffer {
  return makePngChunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]));
}

/**
 * A pixel bomb: the header says width×height, the image data is a few rows of it. A decoder that
 * trusts the header allocates width×height×3 bytes before it finds the data short.
 */
export function pixelBomb(width: number, height: number): Buffer {
  const row = Buffer.alloc(1 + width * 3);
  const raw = Buffer.concat(Array.from({ length: 4 }, () => row));
  return Buffer.concat([signature, ihdr(width, height), makePngChunk('IDAT', deflateSync(raw)), makePngChunk('IEND', Buffer.alloc(0))]);
}
