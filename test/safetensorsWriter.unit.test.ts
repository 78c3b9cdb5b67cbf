import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { float32ToFloat16Bits } from '../runtime/safetensors/float16.ts';
import { SafetensorsError, openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { writeSafetensors, writeSafetensorsTensors } from '../runtime/safetensors/safetensorsWriter.ts';
import type { SafetensorsEntry } from '../runtime/safetensors/safetensorsWriter.ts';
import { referenceDir, tinyModelDir } from './fixturePaths.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'letterpress-stw-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Rewrites a reference file tensor by tensor in its own order; returns the rewritten bytes. */
async function rewrite(source: string, target: string, convert?: (name: string, data: Float32Array) => ArrayBufferView) {
  const file = await openSafetensors(source);
  try {
    const entries: SafetensorsEntry[] = [...file.tensors.values()].map((t) => ({
      name: t.name,
      dtype: convert ? 'F16' : t.dtype,
      shape: t.shape,
    }));
    await writeSafetensors(
      target,
      entries,
      async (entry) => (convert ? convert(entry.name, await file.readFloat32(entry.name)) : file.readBytes(entry.name)),
      file.metadata,
    );
  } finally {
    await file.close();
  }
  return readFile(target);
}

test('rewriting the reference files gives them back byte for byte (header layout, padding, data)', async () => {
  for (const source of [
    join(referenceDir, 'components.safetensors'),
    join(tinyModelDir, 'vae/diffusion_pytorch_model.safetensors'),
  ]) {
    const copy = await rewrite(source, join(dir, 'copy.safetensors'));
    assert.ok(copy.equals(await readFile(source)), source);
  }
});

test('converting the fp32 UNet to float16 reproduces the reference fp16 file exactly', async () => {
  const converted = await rewrite(
    join(tinyModelDir, 'unet/diffusion_pytorch_model.safetensors'),
    join(dir, 'unet.fp16.safetensors'),
    (_name, data) => float32ToFloat16Bits(data),
  );
  assert.ok(converted.equals(await readFile(join(tinyModelDir, 'unet/diffusion_pytorch_model.fp16.safetensors'))));
});

test('round trip of every dtype family, metadata and key order', async () => {
  const path = join(dir, 'roundtrip.safetensors');
  const f64 = new Float64Array([Math.PI, -1e300, 0.5]);
  await writeSafetensorsTensors(
    path,
    {
      z: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, -2, 3.5, Infinity]) },
      ids: { dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 1n << 40n]) },
      scalar: { dtype: 'F64', shape: [], data: f64.subarray(0, 1) },
      empty: { dtype: 'BF16', shape: [0, 3], data: new Uint16Array(0) },
      mask: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
    },
    { format: 'pt', note: 'ünïcode ✓' },
  );
  const raw = await readFile(path);
  const headerLength = Number(raw.readBigUInt64LE(0));
  assert.equal(headerLength % 8, 0);
  const header = raw.subarray(8, 8 + headerLength).toString('utf8');
  assert.match(header, /^\{.*\} *$/);
  assert.equal(JSON.parse(header).__metadata__.note, 'ünïcode ✓');

  const file = await openSafetensors(path);
  try {
    assert.deepEqual([...file.tensors.keys()], ['z', 'ids', 'scalar', 'empty', 'mask']);
    assert.deepEqual(file.metadata, { format: 'pt', note: 'ünïcode ✓' });
    assert.deepEqual([...(await file.readFloat32('z'))], [1, -2, 3.5, Infinity]);
    const ints = await file.readBytes('ids');
    assert.deepEqual([...new BigInt64Array(ints.buffer, 0, 2)], [-5n, 1n << 40n]);
    assert.deepEqual(file.tensors.get('scalar')?.shape, []);
    assert.deepEqual([...(await file.readFloat32('scalar'))], [Math.fround(Math.PI)]);
    assert.equal((await file.readFloat32('empty')).length, 0);
    assert.deepEqual([...(await file.readBytes('mask'))], [1, 0, 1]);
  } finally {
    await file.close();
  }
});

test('produce is called once per tensor, in order, and may be async', async () => {
  const calls: string[] = [];
  const path = join(dir, 'streamed.safetensors');
  await writeSafetensors(
    path,
    [
      { name: 'a', dtype: 'F32', shape: [3] },
      { name: '0', dtype: 'U16', shape: [1, 2] },
    ],
    async (entry, index) => {
      calls.push(`${index}:${entry.name}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      return index === 0 ? new Float32Array([1, 2, 3]) : new Uint16Array([7, 65535]);
    },
  );
  assert.deepEqual(calls, ['0:a', '1:0']);
  const file = await openSafetensors(path);
  // The header keeps the entries' order even for integer-like names, which JS objects would reorder.
  const raw = await readFile(path, 'utf8');
  assert.ok(raw.indexOf('"a"') < raw.indexOf('"0"'));
  assert.deepEqual([...new Uint16Array((await file.readBytes('0')).buffer, 0, 2)], [7, 65535]);
  await file.close();
});

test('a failure mid-way leaves the existing file untouched and no temp file behind', async () => {
  const path = join(dir, 'keep.safetensors');
  await writeFile(path, 'previous contents');
  const entries: SafetensorsEntry[] = [
    { name: 'a', dtype: 'F32', shape: [2] },
    { name: 'b', dtype: 'F32', shape: [2] },
  ];
  await assert.rejects(
    writeSafetensors(path, entries, (_entry, index) => {
      if (index === 1) throw new Error('conversion failed');
      return new Float32Array(2);
    }),
    /conversion failed/,
  );
  await assert.rejects(
    writeSafetensors(path, entries, () => new Float32Array(3)),
    (error: unknown) => error instanceof SafetensorsError && /needs 8 bytes but 12 were given/.test(error.message),
  );
  assert.equal(await readFile(path, 'utf8'), 'previous contents');
  assert.deepEqual((await readdir(dir)).filter((name) => name.includes('keep')), ['keep.safetensors']);
});

test('bad entries are refused before anything is written', async () => {
  const path = join(dir, 'bad.safetensors');
  const noData = () => new Uint8Array(0);
  await assert.rejects(writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [-1] }], noData), /non-negative/);
  await assert.rejects(writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [1.5] }], noData), /non-negative/);
  await assert.rejects(
    writeSafetensors(path, [{ name: 'a', dtype: 'Q4' as never, shape: [1] }], noData),
    /unknown dtype "Q4"/,
  );
  await assert.rejects(
    writeSafetensors(
      path,
      [
        { name: 'a', dtype: 'U8', shape: [0] },
        { name: 'a', dtype: 'U8', shape: [0] },
      ],
      noData,
    ),
    /appears twice/,
  );
  await assert.rejects(writeSafetensors(path, [{ name: '__metadata__', dtype: 'U8', shape: [0] }], noData), /__metadata__/);
  assert.equal((await readdir(dir)).filter((name) => name.includes('bad')).length, 0);
});
