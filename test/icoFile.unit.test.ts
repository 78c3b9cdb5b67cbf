import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { encodeIco } from '../runtime/export/icoFile.ts';

/** Reads an .ico as the format describes it, independently of the encoder. */
function parseIco(ico: Buffer) {
  assert.equal(ico.readUInt16LE(0), 0, 'reserved');
  assert.equal(ico.readUInt16LE(2), 1, 'type 1 = icon');
  const count = ico.readUInt16LE(4);
  return Array.from({ length: count }, (_, i) => {
    const at = 6 + i * 16;
    const size = ico.readUInt32LE(at + 8);
    const offset = ico.readUInt32LE(at + 12);
    return {
      width: ico[at] || 256,
      height: ico[at + 1] || 256,
      planes: ico.readUInt16LE(at + 4),
      bitCount: ico.readUInt16LE(at + 6),
      size,
      offset,
      payload: ico.subarray(offset, offset + size),
    };
  });
}

const pngSignature = Buffer.from('89504e470d0a1a0a', 'hex');

async function png(side: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width: side, height: side, channels: 4, background: colour } }).png().toBuffer();
}

test('ICONDIR, entries and PNG payloads parse back: count, sizes (256 as 0), contiguous offsets', async () => {
  const sizes = [16, 32, 48, 256];
  const pngs = await Promise.all(sizes.map((s, i) => png(s, ['#ff0000', '#00ff00', '#0000ff', '#123456'][i]!)));
  const ico = encodeIco(sizes.map((s, i) => ({ width: s, height: s, png: pngs[i]! })));
  const entries = parseIco(ico);
  assert.equal(entries.length, 4);
  assert.equal(ico[6 + 3 * 16], 0, '256 is stored as 0');
  let expectedOffset = 6 + 16 * 4;
  for (const [i, entry] of entries.entries()) {
    assert.equal(entry.width, sizes[i]);
    assert.equal(entry.height, sizes[i]);
    assert.equal(entry.planes, 1);
    assert.equal(entry.bitCount, 32);
    assert.equal(entry.offset, expectedOffset);
    assert.ok(entry.payload.subarray(0, 8).equals(pngSignature));
    assert.ok(entry.payload.equals(pngs[i]!));
    // The PNG's own IHDR agrees with the directory entry.
    assert.equal(entry.payload.readUInt32BE(16), sizes[i]);
    assert.equal(entry.payload.readUInt32BE(20), sizes[i]);
    expectedOffset += entry.size;
  }
  assert.equal(expectedOffset, ico.length, 'nothing after the last payload');
});

test('refuses sizes an entry cannot describe and payloads that are not PNG', async () => {
  const ok = await png(16, '#000000');
  assert.throws(() => encodeIco([]), /1 to 65535/);
  assert.throws(() => encodeIco([{ width: 512, height: 512, png: ok }]), /1 to 256/);
  assert.throws(() => encodeIco([{ width: 16, height: 16, png: Buffer.from('GIF89a....') }]), /PNG/);
});
