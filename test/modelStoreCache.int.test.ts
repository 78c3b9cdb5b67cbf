// What is on disk is used without the network: snapshots made by diffusers/huggingface_hub,
// offline mode (no socket at all), local folders; and a download that cannot fit is refused.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelStoreError } from '../runtime/modelStore/modelStoreError.ts';
import { requiredModelFiles } from '../runtime/modelStore/requiredModelFiles.ts';
import { resolveModel } from '../runtime/modelStore/resolveModel.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { assertSameAsFixture, type HubServer, makeTempDir, startHubServer } from './hubServer.ts';

/** The cache as huggingface_hub (diffusers' from_pretrained) leaves it, made by hand. */
function makeHubSnapshot(cacheDir: string, repoId: string, commit: string, server: HubServer, files = requiredModelFiles): string {
  const repoDir = join(cacheDir, `models--${repoId.replace('/', '--')}`);
  mkdirSync(join(repoDir, 'blobs'), { recursive: true });
  mkdirSync(join(repoDir, 'refs'), { recursive: true });
  writeFileSync(join(repoDir, 'refs', 'main'), commit);
  for (const file of files) {
    const stored = server.file(file);
    const blob = join(repoDir, 'blobs', stored.lfs ? stored.sha256 : stored.gitSha1);
    writeFileSync(blob, stored.content);
    const pointer = join(repoDir, 'snapshots', commit, file);
    mkdirSync(dirname(pointer), { recursive: true });
    symlinkSync(relative(dirname(pointer), blob), pointer);
  }
  return join(repoDir, 'snapshots', commit);
}

describe('model store: cache, offline, local folders, disk space', () => {
  let server: HubServer;
  before(async () => {
    server = await startHubServer();
  });
  after(() => server.close());

  it('reuses a snapshot made by diffusers without a single connection', async () => {
    const cache = makeTempDir();
    try {
      const commit = 'a'.repeat(40);
      const snapshot = makeHubSnapshot(cache.dir, server.repoId, commit, server);
      const connections = server.connections;
      assert.deepEqual(await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint }), {
        modelDir: snapshot,
        source: 'cache',
        revision: commit,
      });
      assert.deepEqual(
        await resolveModel({ model: server.repoId, revision: commit, cacheDir: cache.dir, endpoint: server.endpoint }),
        { modelDir: snapshot, source: 'cache', revision: commit },
      );
      assert.equal(server.connections, connections);
    } finally {
      cache.remove();
    }
  });

  it('completes a snapshot diffusers left without the float32 UNet, fetching only that file', async () => {
    const cache = makeTempDir();
    try {
      const missing = 'unet/diffusion_pytorch_model.safetensors';
      const snapshot = makeHubSnapshot(cache.dir, server.repoId, server.main(), server, requiredModelFiles.filter((f) => f !== missing));
      const before = server.requests.length;
      const result = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
      assert.equal(result.modelDir, snapshot);
      assert.equal(result.source, 'download');
      assertSameAsFixture(snapshot);
      const gets = server.requests.slice(before).filter((r) => r.method === 'GET' && !r.url.startsWith('/api/'));
      assert.deepEqual(gets.map((r) => [r.host, r.status]), [['hub', 302], ['cdn', 200]]);
      assert.ok(gets[1].url.includes(server.file(missing).sha256));
    } finally {
      cache.remove();
    }
  });

  it('opens no socket in offline mode, and says the model is not cached', async () => {
    const cache = makeTempDir();
    try {
      const connections = server.connections;
      await assert.rejects(
        resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint, offline: true }),
        (e: ModelStoreError) => e.code === 'not-cached' && /not in the cache/.test(e.message) && /HF_HUB_OFFLINE/.test(e.message),
      );
      // A snapshot missing one file is not enough either, and the error names the file.
      makeHubSnapshot(cache.dir, server.repoId, server.main(), server, requiredModelFiles.slice(1));
      await assert.rejects(
        resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint, offline: true }),
        (e: ModelStoreError) => e.code === 'not-cached' && e.message.includes('lacks model_index.json'),
      );
      assert.equal(server.connections, connections);
    } finally {
      cache.remove();
    }
  });

  it('honours HF_HUB_OFFLINE=1 and serves a cached model with no connection', async () => {
    const cache = makeTempDir();
    const saved = process.env.HF_HUB_OFFLINE;
    try {
      const first = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
      process.env.HF_HUB_OFFLINE = '1';
      const connections = server.connections;
      const again = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint, refresh: true });
      assert.deepEqual(again, { ...first, source: 'cache' });
      assert.equal(server.connections, connections);
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = saved;
      cache.remove();
    }
  });

  it('refuses a download that does not fit, giving both sizes, before fetching anything', async () => {
    const cache = makeTempDir();
    try {
      const total = requiredModelFiles.reduce((sum, f) => sum + server.file(f).content.length, 0);
      const before = server.requests.length;
      await assert.rejects(
        resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint, freeDiskSpace: async () => 1_000_000 }),
        (e: ModelStoreError) => {
          assert.equal(e.code, 'disk-space');
          assert.ok(e.message.includes(`(${total} bytes)`), e.message);
          assert.ok(e.message.includes('(1000000 bytes)'), e.message);
          assert.ok(e.message.includes(cache.dir));
          return true;
        },
      );
      assert.ok(!server.requests.slice(before).some((r) => r.method === 'GET' && !r.url.startsWith('/api/')));
      // The real free-space figure (statfs) lets the tiny model through.
      assertSameAsFixture((await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint })).modelDir);
    } finally {
      cache.remove();
    }
  });

  it('accepts a local model folder as is, and names what an incomplete one lacks', async () => {
    assert.deepEqual(await resolveModel({ model: tinyModelDir }), { modelDir: tinyModelDir, source: 'local' });
    const folder = makeTempDir();
    try {
      for (const file of requiredModelFiles.filter((f) => !f.startsWith('vae/'))) {
        mkdirSync(dirname(join(folder.dir, file)), { recursive: true });
        writeFileSync(join(folder.dir, file), readFileSync(join(tinyModelDir, file)));
      }
      await assert.rejects(
        resolveModel({ model: folder.dir }),
        (e: ModelStoreError) =>
          e.code === 'missing-files' && e.message.includes('vae/config.json, vae/diffusion_pytorch_model.safetensors are missing'),
      );
      await assert.rejects(resolveModel({ model: join(folder.dir, 'nope') }), (e: ModelStoreError) => e.code === 'bad-input' && /does not exist/.test(e.message));
      assert.ok(!existsSync(join(folder.dir, 'nope')));
    } finally {
      folder.remove();
    }
  });

  it('rejects a model name that is neither a folder nor a repository id', async () => {
    for (const model of ['just-a-name', 'org/na me', 'org/../x', 'org--x/y']) {
      await assert.rejects(resolveModel({ model, offline: true }), (e: ModelStoreError) => e.code === 'bad-input', model);
    }
  });
});
