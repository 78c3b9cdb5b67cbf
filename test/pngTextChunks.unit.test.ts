import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { encodeRgbPng, floatToRgbBytes } from '../runtime/png/encodePng.ts';
import { addPngTextChunk, PngFormatError, readPngTextChunks } from '../runtime/png/pngTextChunks.ts';

interface RawChunk {
  type: string;
  data: Buffer;
  crc: number;
}

// An independent walk over the file, so the tests do not trust the module's own parser.
function listChunks(png: Buffer): RawChunk[] {
  const chunks: RawChunk[] = [];
  let offset = 8;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    chunks.push({ type, data: png.subarray(offset + 8, offset + 8 + length), crc: png.readUInt32BE(offset + 8 + length) });
    offset += 12 + length;
  }
  return chunks;
}

function assertValidCrcs(png: Buffer): void {
  for (const chunk of listChunks(png)) {
    const expected = crc32(Buffer.concat([Buffer.from(chunk.type, 'latin1'), chunk.data]));
    assert.equal(chunk.crc, expected, `CRC of ${chunk.type}`);
  }
}

function gradient(width: number, height: number): Float32Array {
  const pixels = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = x / (width - 1);
      pixels[i + 1] = y / (height - 1);
      pixels[i + 2] = ((x + y) % 7) / 6;
    }
  }
  return pixels;
}

test('encodes the float image as 8-bit RGB with round(x·255), clamped', async () => {
  const width = 8;
  const height = 6;
  const pixels = gradient(width, height);
  pixels[0] = -0.3;
  pixels[1] = 1.7;
  pixels[2] = 0.5;
  const png = await encodeRgbPng(pixels, width, height);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, width);
  assert.equal(info.height, height);
  assert.equal(info.channels, 3);
  assert.deepEqual([data[0], data[1], data[2]], [0, 255, 128]); // 127.5 rounds half up
  for (let i = 3; i < pixels.length; i++) assert.equal(data[i], Math.round(pixels[i] * 255));
  assert.deepEqual(Array.from(floatToRgbBytes(new Float32Array([Number.NaN, 0.002, 0.998]))), [0, 1, 254]);
  assertValidCrcs(png);
});

test('a Latin-1 text goes in a tEXt chunk before the first IDAT, with a correct CRC', async () => {
  const text = 'a café sign, "OPEN"\nSteps: 8, Sampler: DDIM';
  const png = await encodeRgbPng(gradient(16, 16), 16, 16, { parameters: text });
  assertValidCrcs(png);
  const chunks = listChunks(png);
  const types = chunks.map((c) => c.type);
  assert.equal(types[0], 'IHDR');
  assert.equal(types.at(-1), 'IEND');
  const textIndex = types.indexOf('tEXt');
  assert.ok(textIndex > 0 && textIndex < types.indexOf('IDAT'), `order: ${types.join(' ')}`);
  const data = chunks[textIndex].data;
  assert.equal(data.toString('latin1'), `parameters\0${text}`);
  assert.equal(data.length, 'parameters'.length + 1 + text.length, 'one byte per character in Latin-1');
  assert.deepEqual(readPngTextChunks(png), { parameters: text });

  // libvips (through sharp) reads an ASCII chunk back (it takes tEXt bytes as UTF-8, so only
  // ASCII is comparable there), and the pixels are untouched.
  const ascii = 'a sign, "OPEN"\nSteps: 8, Sampler: DDIM';
  const meta = await sharp(await encodeRgbPng(gradient(16, 16), 16, 16, { parameters: ascii })).metadata();
  assert.deepEqual(meta.comments, [{ keyword: 'parameters', text: ascii }]);
  const plain = await encodeRgbPng(gradient(16, 16), 16, 16);
  assert.deepEqual(await sharp(png).raw().toBuffer(), await sharp(plain).raw().toBuffer());
});

test('text outside Latin-1 goes in an uncompressed UTF-8 iTXt chunk', async () => {
  const text = 'ネオンサイン "開店" ✨\nSteps: 8';
  const png = await encodeRgbPng(gradient(8, 8), 8, 8, { parameters: text });
  assertValidCrcs(png);
  const chunks = listChunks(png);
  const types = chunks.map((c) => c.type);
  assert.ok(!types.includes('tEXt'));
  const itxt = chunks[types.indexOf('iTXt')];
  assert.ok(types.indexOf('iTXt') < types.indexOf('IDAT'));
  // keyword \0 flag=0 method=0 language \0 translated \0 text
  assert.deepEqual(itxt.data, Buffer.concat([Buffer.from('parameters\0\0\0\0\0', 'latin1'), Buffer.from(text, 'utf8')]));
  assert.deepEqual(readPngTextChunks(png), { parameters: text });
  const meta = await sharp(png).metadata();
  assert.deepEqual(meta.comments, [{ keyword: 'parameters', text }]);
});

test('reads tEXt, zTXt and compressed iTXt chunks written by other tools', async () => {
  const base = await encodeRgbPng(gradient(4, 4), 4, 4);
  const chunk = (type: string, data: Buffer): Buffer => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdrEnd = 8 + 12 + 13;
  const extra = Buffer.concat([
    chunk('tEXt', Buffer.from('Software\0other tool', 'latin1')),
    chunk('zTXt', Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), deflateSync(Buffer.from('zipped ü', 'latin1'))])),
    chunk('iTXt', Buffer.concat([Buffer.from('Title\0\x01\0en\0Titel\0', 'latin1'), deflateSync(Buffer.from('漢字', 'utf8'))])),
  ]);
  const png = Buffer.concat([base.subarray(0, ihdrEnd), extra, base.subarray(ihdrEnd)]);
  const withOurs = addPngTextChunk(png, 'parameters', 'p');
  assert.deepEqual(readPngTextChunks(withOurs), {
    Software: 'other tool',
    Comment: 'zipped ü',
    Title: '漢字',
    parameters: 'p',
  });
  assertValidCrcs(withOurs);
});

test('rejects files that are not PNG and keywords PNG does not allow', async () => {
  assert.throws(() => readPngTextChunks(Buffer.from('GIF89a........')), PngFormatError);
  const png = await encodeRgbPng(gradient(4, 4), 4, 4);
  assert.throws(() => readPngTextChunks(png.subarray(0, png.length - 20)), PngFormatError);
  assert.throws(() => addPngTextChunk(png, '', 'x'), RangeError);
  assert.throws(() => addPngTextChunk(png, ' lead', 'x'), RangeError);
  assert.throws(() => addPngTextChunk(png, 'k'.repeat(80), 'x'), RangeError);
  await assert.rejects(encodeRgbPng(new Float32Array(10), 2, 2), RangeError);
});
