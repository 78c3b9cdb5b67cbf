// What ensureConvertedComponent does around the graphs: checking a weights file before using it,
// falling back from a bad float16 variant, older tensor names, the cache, progress and cancellation.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { conversionSlot, makeTempFolder } from '../runtime/graphCache/graphCache.ts';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { writeSafetensors } from '../runtime/safetensors/safetensorsWriter.ts';
import {
  assertAgrees,
  copyTinyModel,
  createSession,
  removeTempDirs,
  runComponent,
  useReferenceUnetWeights,
} from './onnxTestSupport.ts';

after(removeTempDirs);

/** Rewrites a safetensors file with renamed (and optionally dropped) tensors, bytes unchanged. */
async function renameTensors(path: string, mapName: (name: string) => string | null): Promise<void> {
  const source = await openSafetensors(path);
  const kept = [...source.tensors.values()].filter((t) => mapName(t.name) !== null);
  const renamedPath = `${path}.renamed`;
  try {
    await writeSafetensors(
      renamedPath,
      kept.map((t) => ({ name: mapName(t.name)!, dtype: t.dtype, shape: t.shape })),
      (_entry, index) => source.readBytes(kept[index]!.name),
    );
  } finally {
    await source.close();
  }
  await rm(path);
  await rename(renamedPath, path);
}

test('a float16 variant that is a whole single-file checkpoint falls back to the float32 file, with a note', async () => {
  const modelDir = await copyTinyModel();
  await useReferenceUnetWeights(modelDir);
  await renameTensors(join(modelDir, 'unet', 'diffusion_pytorch_model.fp16.safetensors'), (name) => `model.diffusion_model.${name}`);
  const converted = await ensureConvertedComponent(modelDir, 'unet', { fp16: true });
  const notes = converted.notes.join('\n');
  assert.match(notes, /diffusion_pytorch_model\.fp16\.safetensors does not match its config\.json: missing conv_in\.weight/);
  assert.match(notes, /converted from .*diffusion_pytorch_model\.safetensors, cast to float16/);
  const { actual, expected } = await runComponent(await createSession(converted.onnxPath), 'unet', 'square');
  assertAgrees('unet fp16 from float32 file', actual, expected, 5e-3);
});

test('older tensor names: text_model.* text encoder and query/key/value/proj_attn VAE attention', async () => {
  const modelDir = await copyTinyModel();
  await renameTensors(join(modelDir, 'text_encoder', 'model.safetensors'), (name) => `text_model.${name}`);
  const legacy: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };
  await renameTensors(join(modelDir, 'vae', 'diffusion_pytorch_model.safetensors'), (name) =>
    name.replace(/(mid_block\.attentions\.0)\.(to_q|to_k|to_v|to_out\.0)\./, (_m, block: string, proj: string) => `${block}.${legacy[proj]}.`),
  );
  const textEncoder = await ensureConvertedComponent(modelDir, 'text_encoder');
  const te = await runComponent(await createSession(textEncoder.onnxPath), 'text_encoder');
  assertAgrees('text_encoder (text_model.*)', te.actual, te.expected, 1e-4);
  const vae = await ensureConvertedComponent(modelDir, 'vae_decoder');
  const decoded = await runComponent(await createSession(vae.onnxPath), 'vae_decoder', 'square');
  assertAgrees('vae_decoder (legacy attention names)', decoded.actual, decoded.expected, 1e-4);
});

test('missing or mis-shaped tensors are named in the error', async () => {
  const modelDir = await copyTinyModel();
  await rm(join(modelDir, 'vae', 'diffusion_pytorch_model.safetensors'));
  await assert.rejects(ensureConvertedComponent(modelDir, 'vae_decoder'), /has no diffusion_pytorch_model\.safetensors/);

  await renameTensors(join(modelDir, 'text_encoder', 'model.safetensors'), (name) =>
    name === 'final_layer_norm.bias' ? null : name === 'encoder.layers.1.mlp.fc1.weight' ? 'encoder.layers.1.mlp.fc1.weight_renamed' : name,
  );
  await assert.rejects(
    ensureConvertedComponent(modelDir, 'text_encoder'),
    /model\.safetensors does not match its config\.json: missing encoder\.layers\.1\.mlp\.fc1\.weight \[64, 32\]; missing final_layer_norm\.bias \[32\]/,
  );

  // A config that disagrees with the weights (here: a wider text embedding for cross-attention) names the mis-shaped tensors.
  const configPath = join(modelDir, 'unet', 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  await writeFile(configPath, JSON.stringify({ ...config, cross_attention_dim: 64 }));
  await assert.rejects(
    ensureConvertedComponent(modelDir, 'unet'),
    /does not match its config\.json: down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn2\.to_k\.weight is \[32, 32\], expected \[32, 64\]; .* and \d+ more/,
  );
});

test('converted graphs are cached in our cache, keyed by the source files, and written atomically', async () => {
  const modelDir = await copyTinyModel();
  const events: ProgressEvent[] = [];
  const first = await ensureConvertedComponent(modelDir, 'text_encoder', { onProgress: (e) => events.push(e) });
  assert.equal(first.fromCache, false);
  const cacheRoot = dirname(dirname(first.onnxPath));
  assert.equal(dirname(cacheRoot), join(await realpath(process.env.LETTERPRESS_CACHE!), 'graphs'));
  assert.match(basename(cacheRoot), /^folder-tiny-sd2-[0-9a-f]{12}$/);
  assert.match(basename(dirname(first.onnxPath)), /^text_encoder-fp32-[0-9a-f]{16}$/);
  assert.equal(existsSync(join(modelDir, '.letterpress')), false, 'nothing written into the model folder');
  const last = events.at(-1);
  assert.ok(last && last.status === 'convert' && last.component === 'text_encoder' && last.done === last.total);
  assert.ok(events.length >= 2);

  const second = await ensureConvertedComponent(modelDir, 'text_encoder');
  assert.deepEqual(second, { ...first, fromCache: true });

  // A changed source file is converted again, into a new folder.
  await utimes(join(modelDir, 'text_encoder', 'model.safetensors'), new Date(), new Date(Date.now() + 5000));
  const third = await ensureConvertedComponent(modelDir, 'text_encoder');
  assert.equal(third.fromCache, false);
  assert.notEqual(third.onnxPath, first.onnxPath);

  const leftovers = (await readdir(cacheRoot)).filter((name) => name.startsWith('.tmp'));
  assert.deepEqual(leftovers, []);
  assert.equal(existsSync(first.onnxPath), false, 'the conversion of the old file was removed');
  // The superseded conversion is gone (with its hard link to the old weights); other graph options stay.
  const half = await ensureConvertedComponent(modelDir, 'text_encoder', { fp16: true });
  await utimes(join(modelDir, 'text_encoder', 'model.safetensors'), new Date(), new Date(Date.now() + 10_000));
  const fourth = await ensureConvertedComponent(modelDir, 'text_encoder');
  const folders = (await readdir(cacheRoot)).filter((name) => name.startsWith('text_encoder-'));
  assert.deepEqual(folders.sort(), [basename(dirname(fourth.onnxPath)), basename(dirname(half.onnxPath))].sort());

  // A temp folder left by a conversion that died a day ago is cleared by the next conversion; a
  // folder with a temp-like name that this cache did not make is left alone.
  const stale = await makeTempFolder(await conversionSlot(modelDir, 'unet-fp32-0000000000000000'), 'unet');
  const notOurs = join(cacheRoot, '.tmp-unet-999-dead');
  await mkdir(notOurs);
  for (const dir of [stale, notOurs]) await utimes(dir, new Date(Date.now() - 2 * 86_400_000), new Date(Date.now() - 2 * 86_400_000));
  await ensureConvertedComponent(modelDir, 'vae_decoder');
  assert.deepEqual((await readdir(cacheRoot)).filter((name) => name.startsWith('.tmp')), ['.tmp-unet-999-dead']);
});

test('cancellation rejects with AbortError and leaves no partial cache', async () => {
  const modelDir = await copyTinyModel();
  const controller = new AbortController();
  const pending = ensureConvertedComponent(modelDir, 'text_encoder', {
    fp16: true,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.status === 'convert' && e.done === 3) controller.abort();
    },
  });
  await assert.rejects(pending, (error: Error) => error.name === 'AbortError');
  const { sourceDir } = await conversionSlot(modelDir, 'text_encoder-fp16-0000000000000000');
  assert.deepEqual(await readdir(sourceDir), []);
});

test('a huggingface_hub snapshot (files are symlinks into blobs/) converts and loads: the link target is hard-linked', async () => {
  const modelDir = await copyTinyModel();
  const repo = join(dirname(modelDir), 'models--someone--tiny');
  const snapshot = join(repo, 'snapshots', '0123abcd');
  await mkdir(join(repo, 'blobs'), { recursive: true });
  await mkdir(join(snapshot, 'text_encoder'), { recursive: true });
  for (const file of ['config.json', 'model.safetensors']) {
    const blob = join(repo, 'blobs', `blob-${file}`);
    await rename(join(modelDir, 'text_encoder', file), blob);
    await symlink(`../../../blobs/blob-${file}`, join(snapshot, 'text_encoder', file));
  }
  const converted = await ensureConvertedComponent(snapshot, 'text_encoder');
  const weights = await lstat(join(dirname(converted.onnxPath), 'weights.safetensors'));
  assert.ok(weights.isFile() && !weights.isSymbolicLink());
  assert.equal(weights.ino, (await stat(join(repo, 'blobs', 'blob-model.safetensors'))).ino);
  const { actual, expected } = await runComponent(await createSession(converted.onnxPath), 'text_encoder');
  assertAgrees('text_encoder from a hub snapshot', actual, expected, 1e-4);
});

test('SD 1.x style 1x1-conv projections (use_linear_projection false) compute the same as linear ones', async () => {
  const modelDir = await copyTinyModel();
  await useReferenceUnetWeights(modelDir);
  const configPath = join(modelDir, 'unet', 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  await writeFile(configPath, JSON.stringify({ ...config, use_linear_projection: false }));
  // Same bytes, stored as [C, C, 1, 1] conv kernels, as SD 1.x checkpoints hold them.
  const path = join(modelDir, 'unet', 'diffusion_pytorch_model.safetensors');
  const source = await openSafetensors(path);
  const entries = [...source.tensors.values()].map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: /\.proj_(in|out)\.weight$/.test(t.name) ? [...t.shape, 1, 1] : t.shape,
  }));
  await writeSafetensors(`${path}.conv`, entries, (entry) => source.readBytes(entry.name));
  await source.close();
  await rename(`${path}.conv`, path);
  const converted = await ensureConvertedComponent(modelDir, 'unet');
  const session = await createSession(converted.onnxPath);
  const { actual, expected } = await runComponent(session, 'unet', 'wide');
  assertAgrees('unet with conv projections', actual, expected, 1e-4);
});
