// `letterpress convert` as a real child process on a copy of the tiny model.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { copyTinyModel, removeTempDirs } from './onnxTestSupport.ts';

after(removeTempDirs);
const run = promisify(execFile);
const cli = resolve('runtime/cli.ts');

async function letterpress(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('letterpress convert writes each component once and says where', async () => {
  const modelDir = await copyTinyModel();
  const first = await letterpress('convert', '--model', modelDir);
  assert.equal(first.code, 0, first.stderr);
  const lines = first.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(':')[0]), ['text_encoder', 'unet', 'vae_decoder']);
  for (const line of lines) {
    const path = line.slice(line.indexOf(': ') + 2);
    assert.ok(path.startsWith(join(modelDir, '.letterpress', 'onnx')) && path.endsWith('model.onnx'), line);
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
