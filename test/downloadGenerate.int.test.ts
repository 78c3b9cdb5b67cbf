// The point of the model store: `letterpress generate` on a machine with an empty cache fetches the
// model from the hub and draws with it exactly as from the original folder.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSafetensors } from '../runtime/safetensors/safetensorsFile.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { type HubServer, makeTempDir, startHubServer } from './hubServer.ts';

function generate(model: string, out: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const args = ['--import', 'tsx', 'runtime/cli/cliMain.ts', 'generate', '--model', model, '--prompt', 'a shop sign that says OPEN'];
  args.push('--steps', '1', '--width', '64', '--height', '64', '--seed', '7', '--device', 'cpu', '--out', `${out}.png`, '--raw', `${out}.safetensors`);
  const child = spawn(process.execPath, args, { env: { ...process.env, HF_HUB_OFFLINE: '', HF_TOKEN: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

async function rawImage(path: string): Promise<Float32Array> {
  const file = await openSafetensors(path);
  try {
    return await file.readFloat32('image');
  } finally {
    await file.close();
  }
}

describe('letterpress generate with a model from the hub', () => {
  let server: HubServer;
  const temp = makeTempDir('lp-gen-');
  before(async () => {
    server = await startHubServer();
  });
  after(async () => {
    await server.close();
    temp.remove();
  });

  it('downloads into an empty cache, then draws the same image as the original folder', async () => {
    const env = { HF_ENDPOINT: server.endpoint, HF_HUB_CACHE: join(temp.dir, 'hub') };
    const fromHub = await generate(server.repoId, join(temp.dir, 'hub-image'), env);
    assert.equal(fromHub.code, 0, fromHub.stderr);
    assert.ok(server.requests.some((r) => r.host === 'cdn' && r.url.includes(server.file('unet/diffusion_pytorch_model.safetensors').sha256)));
    assert.equal(readFileSync(join(temp.dir, 'hub-image.png')).subarray(1, 4).toString(), 'PNG');

    // A copy, so that the converter's cache lands in the temp folder and not in test/fixtures.
    const folder = join(temp.dir, 'tiny-sd2');
    cpSync(tinyModelDir, folder, { recursive: true, filter: (src) => !src.includes('.letterpress') });
    const fromFolder = await generate(folder, join(temp.dir, 'folder-image'), {});
    assert.equal(fromFolder.code, 0, fromFolder.stderr);
    const expected = await rawImage(join(temp.dir, 'folder-image.safetensors'));
    assert.equal(expected.length, 64 * 64 * 3);
    assert.deepEqual(await rawImage(join(temp.dir, 'hub-image.safetensors')), expected);
  });
});
