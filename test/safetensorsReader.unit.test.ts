import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SafetensorsError, openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { tinyModelDir, referenceDir } from './fixturePaths.ts';

const unetFp32 = join(tinyModelDir, 'unet/diffusion_pytorch_model.safetensors');
const unetFp16 = join(tinyModelDir, 'unet/diffusion_pytorch_model.fp16.safetensors');

describe('safetensors reader on the fixture files', () => {
  test('the fp16 UNet holds the same tensors as the fp32 one, equal within float16 rounding', async () => {
    const full = await openSafetensors(unetFp32);
    const half = await openSafetensors(unetFp16);
    try {
      assert.equal(full.tensors.size, half.tensors.size);
      assert.ok(full.tensors.size > 100);
      assert.equal(full.metadata.format, 'pt');
      let compared = 0;
      for (const [name, info] of full.tensors) {
        const halfInfo = half.tensors.get(name);
        assert.ok(halfInfo, name);
        assert.equal(info.dtype, 'F32');
        assert.equal(halfInfo.dtype, 'F16');
        assert.deepEqual(halfInfo.shape, info.shape);
        assert.equal(halfInfo.byteLength * 2, info.byteLength);
        const a = await full.readFloat32(name);
        const b = await half.readFloat32(name);
        assert.equal(a.length, info.shape.reduce((p, d) => p * d, 1));
        for (let i = 0; i < a.length; i++) {
          // Half of a float16 ulp: 2^-11 relative for normals, 2^-25 absolute for subnormals.
          const allowed = Math.max(Math.abs(a[i]) * 2 ** -11, 2 ** -25);
          if (!(Math.abs(a[i] - b[i]) <= allowed)) assert.fail(`${name}[${i}]: ${a[i]} vs ${b[i]}`);
        }
        compared += a.length;
      }
      assert.ok(compared > 1_000_000);
    } finally {
      await full.close();
      await half.close();
    }
  });

  test('tensor infos carry absolute offsets, contiguous and covering the file exactly', async () => {
    const file = await openSafetensors(unetFp32);
    try {
      let expected = file.dataStart;
      assert.equal(file.dataStart % 8, 0);
      for (const info of file.tensors.values()) {
        assert.equal(info.byteOffset, expected);
        assert.equal(info.byteLength, info.shape.reduce((p, d) => p * d, 1) * 4);
        expected += info.byteLength;
      }
      assert.equal(expected, file.fileSize);
      const conv = file.tensors.get('conv_in.weight');
      assert.deepEqual(conv?.shape, [32, 4, 3, 3]);
    } finally {
      await file.close();
    }
  });

  test('reference tensors have the shapes the fixture README documents', async () => {
    const file = await openSafetensors(join(referenceDir, 'components.safetensors'));
    try {
      assert.deepEqual(file.tensors.get('text_encoder.last_hidden_state')?.shape.slice(1), [77, 32]);
      assert.deepEqual(file.tensors.get('unet.wide.sample')?.shape.slice(1), [4, 16, 24]);
      const ids = file.tensors.get('text_encoder.input_ids');
      assert.ok(ids);
      assert.equal(ids.dtype, 'I32');
      assert.equal(ids.shape.at(-1), 77);
      const bytes = await file.readBytes('text_encoder.input_ids');
      const values = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      assert.equal(values[0], 49406); // every prompt starts with <|startoftext|>
      await assert.rejects(file.readFloat32('text_encoder.input_ids'), SafetensorsError);
      await assert.rejects(file.readBytes('no.such.tensor'), /no tensor named "no.such.tensor"/);
    } finally {
      await file.close();
    }
  });

  test('each read returns a fresh buffer of its own', async () => {
    const file = await openSafetensors(unetFp32);
    try {
      const a = await file.readBytes('conv_in.bias');
      const b = await file.readBytes('conv_in.bias');
      assert.equal(a.byteOffset, 0);
      assert.notEqual(a.buffer, b.buffer);
      assert.deepEqual(a, b);
      a.fill(0);
      assert.notDeepEqual(a, b);
    } finally {
      await file.close();
    }
    await assert.rejects(file.readBytes('conv_in.bias'), /closed/);
  });
});

describe('safetensors reader on malformed files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'letterpress-st-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let counter = 0;
  async function fileWith(header: string | Buffer, data: Buffer | number = 0, lengthField?: bigint): Promise<string> {
    const headerBytes = typeof header === 'string' ? Buffer.from(header) : header;
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(lengthField ?? BigInt(headerBytes.length));
    const path = join(dir, `case${counter++}.safetensors`);
    await writeFile(path, Buffer.concat([prefix, headerBytes, typeof data === 'number' ? Buffer.alloc(data) : data]));
    return path;
  }

  async function rejectsWith(path: string, pattern: RegExp): Promise<void> {
    await assert.rejects(openSafetensors(path), (error: unknown) => {
      assert.ok(error instanceof SafetensorsError, String(error));
      assert.ok(error.message.startsWith(path), error.message);
      assert.match(error.message, pattern);
      return true;
    });
  }

  const tensor = (dtype: string, shape: unknown[], offsets: unknown[]) =>
    `{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}`;

  test('a valid hand-made file opens, as a control for the cases below', async () => {
    const path = await fileWith(`{"a":${tensor('F32', [2], [0, 8])},"b":${tensor('U8', [3], [8, 11])}}`, 11);
    const file = await openSafetensors(path);
    assert.deepEqual([...file.tensors.keys()], ['a', 'b']);
    await file.close();
  });

  test('file shorter than the length field', async () => {
    const path = join(dir, 'tiny.safetensors');
    await writeFile(path, Buffer.from([1, 2, 3]));
    await rejectsWith(path, /too short/);
  });

  test('truncated header', async () => {
    const header = `{"a":${tensor('F32', [2], [0, 8])}}`;
    await rejectsWith(await fileWith(header.slice(0, 10), 0, BigInt(header.length)), /truncated/);
  });

  test('huge header length', async () => {
    await rejectsWith(await fileWith('{}', 0, 100_000_001n), /100 MB/);
    await rejectsWith(await fileWith('{}', 0, 0xffff_ffff_ffff_ffffn), /100 MB/);
  });

  test('header that is not JSON or does not start with "{"', async () => {
    await rejectsWith(await fileWith(' {}'), /does not start with "\{"/);
    await rejectsWith(await fileWith('[1,2]'), /does not start with "\{"/);
    await rejectsWith(await fileWith(''), /does not start with "\{"/);
    await rejectsWith(await fileWith('{"a": nope}'), /not valid JSON/);
    await rejectsWith(await fileWith('{"a":{}} x'), /not valid JSON/);
    await rejectsWith(await fileWith(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), /UTF-8/);
  });

  test('padding spaces after the header JSON are accepted', async () => {
    const file = await openSafetensors(await fileWith(`{"a":${tensor('I16', [2, 2], [0, 8])}}      `, 8));
    assert.deepEqual(file.tensors.get('a')?.shape, [2, 2]);
    await file.close();
  });

  test('overlapping offsets', async () => {
    const path = await fileWith(`{"a":${tensor('F32', [2], [0, 8])},"b":${tensor('F32', [2], [4, 12])}}`, 12);
    await rejectsWith(path, /"b".*overlap tensor "a"/);
  });

  test('gap between tensors, and data not starting at 0', async () => {
    await rejectsWith(
      await fileWith(`{"a":${tensor('F32', [2], [0, 8])},"b":${tensor('F32', [1], [12, 16])}}`, 16),
      /gap of 4 unused bytes/,
    );
    await rejectsWith(await fileWith(`{"a":${tensor('F32', [1], [4, 8])}}`, 8), /does not start at offset 0/);
  });

  test('shape does not match the byte size', async () => {
    await rejectsWith(await fileWith(`{"a":${tensor('F32', [3], [0, 8])}}`, 8), /needs 12 bytes.*hold 8/);
  });

  test('a shape whose byte size overflows 64 bits is not wrapped around', async () => {
    // 2^32 * 2^32 * 4 elements of 4 bytes = 2^68 bytes, which wraps to 0 in 64-bit arithmetic.
    const path = await fileWith(`{"a":${tensor('F32', [4294967296, 4294967296, 4], [0, 0])}}`);
    await rejectsWith(path, /needs 295147905179352825856 bytes/);
  });

  test('trailing bytes and truncated data', async () => {
    await rejectsWith(await fileWith(`{"a":${tensor('F32', [2], [0, 8])}}`, 9), /trailing bytes/);
    await rejectsWith(await fileWith(`{"a":${tensor('F32', [2], [0, 8])}}`, 5), /truncated/);
  });

  test('duplicate keys', async () => {
    const path = await fileWith(`{"a":${tensor('F32', [1], [0, 4])},"a":${tensor('F32', [1], [4, 8])}}`, 8);
    await rejectsWith(path, /duplicate key "a"/);
    await rejectsWith(await fileWith(`{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, 4), /duplicate key "dtype"/);
  });

  test('unknown dtype', async () => {
    await rejectsWith(await fileWith(`{"a":${tensor('F128', [1], [0, 16])}}`, 16), /unknown dtype "F128"/);
  });

  test('negative or non-integer shape dimensions and offsets', async () => {
    await rejectsWith(await fileWith(`{"a":${tensor('U8', [-1], [0, 1])}}`, 1), /not a non-negative integer/);
    await rejectsWith(await fileWith(`{"a":${tensor('U8', [1.5], [0, 1])}}`, 1), /not a non-negative integer/);
    await rejectsWith(await fileWith(`{"a":${tensor('U8', ['2'], [0, 2])}}`, 2), /not a non-negative integer/);
    await rejectsWith(await fileWith(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]}}`, 1), /data_offsets/);
    await rejectsWith(await fileWith(`{"a":${tensor('U8', [1], [0])}}`, 1), /data_offsets/);
  });

  test('__metadata__ must map strings to strings', async () => {
    await rejectsWith(await fileWith(`{"__metadata__":{"format":1}}`), /"format" is not a string/);
    const file = await openSafetensors(await fileWith(`{"__metadata__":{"format":"pt"}}`));
    assert.deepEqual(file.metadata, { format: 'pt' });
    assert.equal(file.tensors.size, 0);
    await file.close();
  });

  test('misaligned data is copied into aligned arrays', async () => {
    // A 3-byte tensor first puts the F32 and F64 tensors at offsets that are not multiples of 4 or 8.
    const data = Buffer.alloc(3 + 8 + 8);
    data.set([7, 8, 9], 0);
    data.writeFloatLE(1.5, 3);
    data.writeFloatLE(-2.25, 7);
    data.writeDoubleLE(1 / 3, 11);
    const header = `{"u":${tensor('U8', [3], [0, 3])},"f":${tensor('F32', [2], [3, 11])},"d":${tensor('F64', [1], [11, 19])}}`;
    const file = await openSafetensors(await fileWith(header.padEnd(Math.ceil(header.length / 8) * 8), data));
    try {
      assert.deepEqual([...(await file.readFloat32('f'))], [1.5, -2.25]);
      assert.deepEqual([...(await file.readFloat32('d'))], [Math.fround(1 / 3)]);
      assert.deepEqual([...(await file.readBytes('u'))], [7, 8, 9]);
    } finally {
      await file.close();
    }
  });

  test('a 5 GB file opens from its header alone and tensors past 4 GB read by position', async () => {
    // Sparse: the 5 GB of zeros take no disk space, and reading them all would take seconds.
    const big = 5 * 2 ** 30;
    let header = `{"big":${tensor('F32', [big / 4], [0, big])},"tail":${tensor('F32', [2], [big, big + 8])}}`;
    header = header.padEnd(Math.ceil(header.length / 8) * 8);
    const path = await fileWith(header);
    await truncate(path, 8 + header.length + big);
    const tail = Buffer.alloc(8);
    tail.writeFloatLE(3.5, 0);
    tail.writeFloatLE(-1, 4);
    await appendFile(path, tail);
    const started = performance.now();
    const file = await openSafetensors(path);
    try {
      assert.equal(file.fileSize, 8 + header.length + big + 8);
      assert.equal(file.tensors.get('tail')?.byteOffset, 8 + header.length + big);
      assert.deepEqual([...(await file.readFloat32('tail'))], [3.5, -1]);
      assert.ok(performance.now() - started < 2000);
    } finally {
      await file.close();
    }
  });

  test('a missing file gives a SafetensorsError naming it', async () => {
    await rejectsWith(join(dir, 'absent.safetensors'), /cannot open/);
  });
});
