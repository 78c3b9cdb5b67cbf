// The dry run behind the extension's first-run download offer: sizes from the local hub, what the
// cache already holds subtracted, nothing fetched, and the real download then agrees with it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelStoreError } from '../runtime/modelStore/modelStoreError.ts';
import { requiredModelFiles } from '../runtime/modelStore/requiredModelFiles.ts';
import { planModelDownload, resolveModel } from '../runtime/modelStore/resolveModel.ts';
import { downloadSizeText } from '../extension/model/downloadOffer.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { type HubServer, makeTempDir, startHubServer } from './hubServer.ts';

const repoFolder = 'models--letterpress-test--tiny-sd2';
/** What the pipeline needs, measured on the fixture folder the local hub serves. */
const neededBytes = requiredModelFiles.reduce((sum, file) => sum + statSync(join(tinyModelDir, file)).size, 0);

describe('download plan (dry run of resolveModel)', () => {
  let server: HubServer;
  before(async () => {
    server = await startHubServer();
  });
  after(() => server.close());
  const servedTotal = () => requiredModelFiles.reduce((sum, file) => sum + server.servedBytes(file), 0);

  it('counts every needed byte for an empty cache, and neither fetches a file nor writes to the cache', async () => {
    const cache = makeTempDir();
    try {
      const served = servedTotal();
      const requests = server.requests.length;
      const plan = await planModelDownload({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
      assert.deepEqual(plan, { source: 'download', revision: server.main(), totalBytes: neededBytes, cachedBytes: 0, bytesToFetch: neededBytes });
      assert.equal(servedTotal(), served);
      const asked = server.requests.slice(requests);
      assert.ok(asked.length > 0);
      for (const r of asked) assert.ok(r.method === 'HEAD' || r.url.startsWith('/api/models/'), `${r.method} ${r.url}`);
      assert.equal(existsSync(join(cache.dir, repoFolder)), false);
    } finally {
      cache.remove();
    }
  });

  it('counts complete blobs and partial downloads as already here, and the download then fetches exactly the rest', async () => {
    const cache = makeTempDir();
    try {
      const blobs = join(cache.dir, repoFolder, 'blobs');
      mkdirSync(blobs, { recursive: true });
      const textEncoder = server.file('text_encoder/model.safetensors');
      const unet = server.file('unet/diffusion_pytorch_model.safetensors');
      writeFileSync(join(blobs, textEncoder.sha256), textEncoder.content);
      writeFileSync(join(blobs, `${unet.sha256}.incomplete`), unet.content.subarray(0, 1_000_000));
      const here = textEncoder.content.length + 1_000_000;

      const options = { model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint };
      const plan = await planModelDownload(options);
      assert.deepEqual(plan, { source: 'download', revision: server.main(), totalBytes: neededBytes, cachedBytes: here, bytesToFetch: neededBytes - here });

      const served = servedTotal();
      assert.equal((await resolveModel(options)).source, 'download');
      assert.equal(servedTotal() - served, plan.bytesToFetch, 'the dry run predicted what the download transferred');

      const connections = server.connections;
      const cached = await planModelDownload(options);
      assert.deepEqual(cached, { source: 'cache', revision: server.main(), totalBytes: neededBytes, cachedBytes: neededBytes, bytesToFetch: 0 });
      assert.equal(server.connections, connections, 'a cached model needs no connection');
    } finally {
      cache.remove();
    }
  });

  it('needs nothing for a local folder, and refuses to guess offline', async () => {
    assert.deepEqual(await planModelDownload({ model: tinyModelDir }), {
      source: 'local',
      revision: undefined,
      totalBytes: neededBytes,
      cachedBytes: neededBytes,
      bytesToFetch: 0,
    });
    const cache = makeTempDir();
    try {
      const connections = server.connections;
      await assert.rejects(planModelDownload({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint, offline: true }), (e: ModelStoreError) => e.code === 'not-cached');
      assert.equal(server.connections, connections);
    } finally {
      cache.remove();
    }
  });

  it('gives up within its time limit on a hub that never answers, so the offer falls back to the estimate', async () => {
    // Accepts connections and then says nothing, as a captive network or a dead proxy may.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket)).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const cache = makeTempDir();
    try {
      const started = performance.now();
      const plan = await planModelDownload({
        model: server.repoId,
        cacheDir: cache.dir,
        endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        signal: AbortSignal.timeout(300),
        metadataTimeoutMs: 300,
      }).catch(() => undefined);
      assert.equal(plan, undefined);
      assert.ok(performance.now() - started < 5_000, `took ${performance.now() - started} ms`);
      assert.ok(sockets.length > 0, 'it did try the hub');
      assert.equal(downloadSizeText(plan, 'several GB'), 'several GB download, once');
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      cache.remove();
    }
  });
});
