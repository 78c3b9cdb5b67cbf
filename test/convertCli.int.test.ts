// `letterpress convert` as a real child process on a copy of the tiny model.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { conversionOptionsFor, usesFloat16Graphs } from '../runtime/pipeline/providerTuning.ts';
import { copyTinyModel, removeTempDirs } from './onnxTestSupport.ts';
import { runLetterpress } from './cliProcess.ts';

after(removeTempDirs);
const letterpress = (...args: string[]) => runLetterpress(args);


test('letterpress convert writes each component once and says where', async () => {
  const modelDir = await copyTinyModel();
  const first = await letterpress('convert', '--model', modelDir);
  assert.equal(first.code, 0, first.stderr);
  const lines = first.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(':')[0]), ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']);
  for (const line of lines) {
    const path = line.slice(line.indexOf(': ') + 2);
    assert.ok(path.startsWith(join(await realpath(process.env.LETTERPRESS_CACHE!), 'graphs')) && path.endsWith('model.onnx'), line);
    await access(path);
  }
  const again = await letterpress('convert', '--model', modelDir, '--component', 'unet');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), `${lines[1]} (already converted)`);
});

test('letterpress convert explains a model folder it cannot use', async () => {
  const modelDir = await copyTinyModel();
  await rm(join(modelDir, 'unet'), { recursive: true });
  const result = await letterpress('convert', '--model', modelDir, '--component', 'unet');
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^letterpress: .*unet\/config\.json is missing: is .* a diffusers model folder/);
  assert.doesNotMatch(result.stderr, /internal error|    at /);
  const unknown = await letterpress('convert', '--model', modelDir, '--component', 'vae');
  assert.match(unknown.stderr, /unknown component "vae"/);
});

test('letterpress convert --device dml prepares the UNet graph generation loads on DirectML (fused; --graph plain: its fallback)', async () => {
  const modelDir = await copyTinyModel();
  const pathOf = (stdout: string) => stdout.trim().split('\n')[0]!.replace(/^unet: /, '').replace(/ \(already converted\)$/, '');
  const dml = await letterpress('convert', '--model', modelDir, '--device', 'dml', '--component', 'unet', '--op-counts');
  assert.equal(dml.code, 0, dml.stderr);
  const dmlGraph = pathOf(dml.stdout);
  // The op type is a plain string in the ONNX protobuf (the weights live in a separate file).
  const dmlBytes = await readFile(dmlGraph);
  for (const op of ['MultiHeadAttention', 'GroupNorm', 'SkipLayerNormalization', 'BiasSplitGelu']) assert.ok(dmlBytes.includes(op), op);
  assert.ok(!dmlBytes.includes('SkipGroupNorm'), 'DirectML has no SkipGroupNorm kernel');
  // --op-counts: the graph's nodes by op type, contrib ops marked.
  assert.match(dml.stdout, /^ {2}\d+ nodes: .*ms:GroupNorm \d+/m);
  assert.doesNotMatch(dml.stdout, /InstanceNormalization/);

  // What the pipeline asks the converter for when it loads the UNet on DirectML: found, not converted again.
  const atGenerate = await ensureConvertedComponent(modelDir, 'unet', conversionOptionsFor('dml', 'unet', false));
  assert.deepEqual([atGenerate.fromCache, atGenerate.onnxPath], [true, dmlGraph]);

  // Its fallback: the plain graph with plain attention.
  const plain = await letterpress('convert', '--model', modelDir, '--device', 'dml', '--graph', 'plain', '--component', 'unet');
  assert.equal(plain.code, 0, plain.stderr);
  const plainBytes = await readFile(pathOf(plain.stdout));
  for (const op of ['MultiHeadAttention', 'GroupNorm', 'SkipLayerNormalization']) assert.ok(!plainBytes.includes(op), op);
  assert.equal(
    (await ensureConvertedComponent(modelDir, 'unet', conversionOptionsFor('dml', 'unet', false, {}, 'plain'))).onnxPath,
    pathOf(plain.stdout),
  );
  const badGraph = await letterpress('convert', '--model', modelDir, '--graph', 'fast');
  assert.equal(badGraph.code, 2);
  assert.match(badGraph.stderr, /unknown graph "fast"; valid graphs: plain, fused/);

  // The CPU (auto here, no GPU) gets the fused-attention graph: another cache entry.
  const cpu = await letterpress('convert', '--model', modelDir, '--device', 'cpu', '--component', 'unet');
  assert.equal(cpu.code, 0, cpu.stderr);
  const cpuGraph = pathOf(cpu.stdout);
  assert.notEqual(cpuGraph, dmlGraph);
  assert.ok((await readFile(cpuGraph)).includes('MultiHeadAttention'));
  assert.equal((await ensureConvertedComponent(modelDir, 'unet', conversionOptionsFor('cpu', 'unet', false))).onnxPath, cpuGraph);

  // Generation ignores --fp16 on the CPU, so converting ahead does too, and says so.
  const fp16OnCpu = await letterpress('convert', '--model', modelDir, '--device', 'cpu', '--fp16', '--component', 'unet');
  assert.equal(fp16OnCpu.code, 0, fp16OnCpu.stderr);
  assert.equal(fp16OnCpu.stdout.trim(), `unet: ${cpuGraph} (already converted)`);
  assert.match(fp16OnCpu.stderr, /float32 graphs on the CPU/);

  // On a GPU provider --fp16 gives float16 graphs, except the VAE when its config says force_upcast
  // (the fixture's does, like SD2's): generation decodes in float32 there.
  const cuda = await letterpress('convert', '--model', modelDir, '--device', 'cuda', '--fp16', '--component', 'unet', '--component', 'vae_decoder', '--component', 'vae_encoder');
  assert.equal(cuda.code, 0, cuda.stderr);
  const [unetLine, vaeLine, encoderLine] = cuda.stdout.trim().split('\n');
  assert.match(unetLine, /^unet: .*\/unet-fp16-[0-9a-f]+\/model\.onnx$/);
  assert.match(vaeLine, /^vae_decoder: .*\/vae_decoder-fp32-[0-9a-f]+\/model\.onnx$/);
  assert.match(encoderLine, /^vae_encoder: .*\/vae_encoder-fp32-[0-9a-f]+\/model\.onnx$/);
  for (const [component, line] of [['unet', unetLine], ['vae_decoder', vaeLine], ['vae_encoder', encoderLine]] as const) {
    const found = await ensureConvertedComponent(modelDir, component, conversionOptionsFor('cuda', component, usesFloat16Graphs('cuda', true), { vaeForceUpcast: true }));
    assert.deepEqual([found.fromCache, `${component}: ${found.onnxPath}`], [true, line]);
  }

  const unknown = await letterpress('convert', '--model', modelDir, '--device', 'tpu');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown device "tpu"; valid devices: auto, cpu, cuda, webgpu, dml, coreml/);
});
