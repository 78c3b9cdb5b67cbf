// Downloads that never end (issue 15, item 7), against the loopback hub stand-in: a server that
// ignores Range and stalls after 1 KB, one that trickles a byte at a time, an API answer without
// end, and ETags that are not hashes. Small windows (options) keep every case to seconds.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelStoreError } from '../runtime/modelStore/modelStoreError.ts';
import { resolveModel, type ResolveModelOptions } from '../runtime/modelStore/resolveModel.ts';
import { assertSameAsFixture, type HubServer, hubPerTest, makeTempDir, startHubServer } from './hubServer.ts';

const lfsFile = 'unet/diffusion_pytorch_model.safetensors';
const smallFile = 'scheduler/scheduler_config.json';

describe('downloads that never end', () => {
  let server: HubServer;
  let cache: ReturnType<typeof makeTempDir>;
  hubPerTest((s, c) => {
    server = s;
    cache = c;
  });

  const run = (messages: string[], extra: Partial<ResolveModelOptions> = {}) =>
    resolveModel({
      model: server.repoId,
      cacheDir: cache.dir,
      endpoint: server.endpoint,
      parallelDownloads: 1,
      onProgress: (e) => e.status === 'message' && messages.push(e.text),
      ...extra,
    });
  const fileGets = () => server.requests.filter((r) => r.host === 'cdn' && r.url.includes(server.file(lfsFile).sha256));

  it('gives up on a server that ignores Range, sends 1 KB and stalls: the 200 that starts over earns no fresh retries', { timeout: 30_000 }, async () => {
    server.setFault(lfsFile, { kind: 'stall', afterBytes: 1024, ignoreRange: true }, Infinity);
    const messages: string[] = [];
    await assert.rejects(run(messages, { stallTimeoutMs: 200, minBytesPerWindow: 1, maxResumes: 2 }), (error: unknown) => {
      assert.ok(error instanceof ModelStoreError);
      assert.equal(error.code, 'network');
      assert.match(error.message, /kept dropping while downloading unet\/diffusion_pytorch_model\.safetensors/);
      return true;
    });
    // The first try and two resumes: each resume asked for the rest, each answer started over.
    assert.equal(fileGets().length, 3);
    assert.ok(fileGets().slice(1).every((r) => r.range === 'bytes=1024-'), JSON.stringify(fileGets()));
  });

  it('counts a server trickling a byte at a time as stalled, judged by bytes per window', { timeout: 30_000 }, async () => {
    server.setFault(lfsFile, { kind: 'trickle', afterBytes: 4096, intervalMs: 40 }, Infinity);
    const messages: string[] = [];
    const started = performance.now();
    await assert.rejects(run(messages, { stallTimeoutMs: 300, minBytesPerWindow: 1024, maxResumes: 1 }), (error: unknown) => {
      assert.ok(error instanceof ModelStoreError);
      assert.match(error.message, /less than 1,024 bytes in 0\.3 s/);
      return true;
    });
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 10, `gave up after ${seconds.toFixed(1)} s`);
    assert.match(messages.join('\n'), /dropped while downloading .*less than 1,024 bytes in 0\.3 s.*resuming at/);
  });

  it('a slow but steady connection is not a stall', { timeout: 60_000 }, async () => {
    // 4 MB/s against a window of 1 s that asks for 16 KiB: far above the bar.
    server.bytesPerSecond = 4_000_000;
    const messages: string[] = [];
    assertSameAsFixture((await run(messages, { stallTimeoutMs: 1000, minBytesPerWindow: 16 * 1024 })).modelDir);
    assert.doesNotMatch(messages.join('\n'), /dropped/);
  });

  it('reads an API answer only up to the cap, and goes on without the file list', { timeout: 60_000 }, async () => {
    server.modelInfoPadding = 64 * 1024 * 1024;
    const messages: string[] = [];
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)), 5);
    try {
      assertSameAsFixture((await run(messages, { maxApiResponseBytes: 1024 * 1024 })).modelDir);
    } finally {
      clearInterval(sampler);
    }
    assert.match(messages.join('\n'), /file list for letterpress-test\/tiny-sd2: the answer runs past 1,048,576 bytes; not read further/);
    assert.ok(peak < 32 * 1024 * 1024, `${(peak / 1048576).toFixed(1)} MiB held at the peak`);
  });
});

/** A hub stand-in with `options` and an empty cache for one test; resolveModel's messages collected. */
async function withHub(
  options: Parameters<typeof startHubServer>[0],
  use: (server: HubServer, cacheDir: string, download: () => Promise<{ modelDir: string; messages: string[] }>) => Promise<void>,
): Promise<void> {
  const server = await startHubServer(options);
  const cache = makeTempDir();
  const download = async () => {
    const messages: string[] = [];
    const result = await resolveModel({
      model: server.repoId,
      cacheDir: cache.dir,
      endpoint: server.endpoint,
      onProgress: (e) => e.status === 'message' && messages.push(e.text),
    });
    return { modelDir: result.modelDir, messages };
  };
  try {
    await use(server, cache.dir, download);
  } finally {
    await server.close();
    cache.remove();
  }
}

describe('ETags that are not hashes', () => {
  it('a cached blob under such a name is checked against the file list\'s hash, and a wrong one fetched again', () =>
    withHub({ opaqueEtags: true }, async (server, cacheDir, download) => {
      // A blob of the right size under the name the server's ETag gives, but not the file's bytes.
      const right = server.file(smallFile).content;
      const blobs = join(cacheDir, 'models--letterpress-test--tiny-sd2', 'blobs');
      mkdirSync(blobs, { recursive: true });
      writeFileSync(join(blobs, server.etagOf(server.file(smallFile).gitSha1)), Buffer.alloc(right.length, 0x20));
      const { modelDir, messages } = await download();
      assertSameAsFixture(modelDir);
      assert.deepEqual(readFileSync(join(modelDir, smallFile)), right);
      assert.match(messages.join('\n'), /scheduler_config\.json: the cached copy does not match the hub's hash; downloading it again/);
    }));

  it('without any hash from the hub, says which files could only be checked by size', () =>
    withHub({ opaqueEtags: true, listHashes: false }, async (_server, _cacheDir, download) => {
      const { modelDir, messages } = await download();
      assertSameAsFixture(modelDir);
      assert.match(messages.join('\n'), /unet\/diffusion_pytorch_model\.safetensors could only be checked by its size: the hub gave no hash for it/);
    }));
});
