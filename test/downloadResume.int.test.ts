// Partial downloads are resumed, restarted or discarded as the server's answer requires, and
// cancelling leaves a partial file that the next run resumes.
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ModelStoreError } from '../runtime/modelStore/modelStoreError.ts';
import { resolveModel } from '../runtime/modelStore/resolveModel.ts';
import { assertSameAsFixture, type HubServer, makeTempDir, hubPerTest } from './hubServer.ts';

const lfsFile = 'unet/diffusion_pytorch_model.safetensors';

describe('download resume', () => {
  let server: HubServer;
  let cache: ReturnType<typeof makeTempDir>;
  hubPerTest((s, c) => {
    server = s;
    cache = c;
  });

  const blobsDir = () => join(cache.dir, 'models--letterpress-test--tiny-sd2', 'blobs');
  const incompletePath = () => join(blobsDir(), `${server.file(lfsFile).sha256}.incomplete`);
  const fileRequests = () => server.requests.filter((r) => r.host === 'cdn' && r.url.includes(server.file(lfsFile).sha256));

  function leavePartial(bytes: Buffer): void {
    mkdirSync(blobsDir(), { recursive: true });
    writeFileSync(incompletePath(), bytes);
  }

  const run = (messages: string[] = []) =>
    resolveModel({
      model: server.repoId,
      cacheDir: cache.dir,
      endpoint: server.endpoint,
      onProgress: (e) => e.status === 'message' && messages.push(e.text),
    });

  it('appends a 206 answer to a partial file', async () => {
    const offset = 3_000_000;
    leavePartial(server.file(lfsFile).content.subarray(0, offset));
    assertSameAsFixture((await run()).modelDir);
    const [request] = fileRequests();
    assert.equal(request.range, `bytes=${offset}-`);
    assert.equal(request.status, 206);
    assert.equal(server.servedBytes(lfsFile), server.file(lfsFile).content.length - offset);
  });

  it('refuses a partial file that is a link (or a hard link) instead of writing through it; its target stays untouched', async () => {
    const victim = join(cache.dir, 'victim.bin');
    for (const plant of ['symlink', 'hardlink'] as const) {
      writeFileSync(victim, 'precious');
      mkdirSync(blobsDir(), { recursive: true });
      rmSync(incompletePath(), { force: true });
      if (plant === 'symlink') symlinkSync(victim, incompletePath());
      else linkSync(victim, incompletePath());
      await assert.rejects(run(), (error: ModelStoreError) => error.code === 'unsafe-path' && error.message.includes(incompletePath()), plant);
      assert.equal(readFileSync(victim, 'utf8'), 'precious', plant);
      assert.equal(fileRequests().length, 0, `${plant}: nothing fetched into it`);
    }
    // Once the user removes it, the download goes through.
    rmSync(incompletePath());
    assertSameAsFixture((await run()).modelDir);
  });

  it('starts over when the server answers a Range request with 200', async () => {
    // Garbage on purpose: if it were kept and appended to, the hash check would fail.
    leavePartial(Buffer.alloc(2_000_000, 0x55));
    server.setFault(lfsFile, { kind: 'ignoreRange' });
    assertSameAsFixture((await run()).modelDir);
    const [request] = fileRequests();
    assert.equal(request.range, 'bytes=2000000-');
    assert.equal(request.status, 200);
    assert.equal(server.servedBytes(lfsFile), server.file(lfsFile).content.length);
  });

  it('discards the partial file on 416 and downloads the whole file', async () => {
    leavePartial(Buffer.alloc(1_000_000, 0x55));
    server.setFault(lfsFile, { kind: 'rangeNotSatisfiable' });
    assertSameAsFixture((await run()).modelDir);
    const requests = fileRequests();
    assert.deepEqual(
      requests.map((r) => [r.range, r.status]),
      [
        ['bytes=1000000-', 416],
        [undefined, 200],
      ],
    );
  });

  it('discards a partial file longer than the file without asking for a range', async () => {
    leavePartial(Buffer.alloc(server.file(lfsFile).content.length + 10, 0x55));
    assertSameAsFixture((await run()).modelDir);
    assert.deepEqual(fileRequests().map((r) => [r.range, r.status]), [[undefined, 200]]);
  });

  it('resumes by itself with Range when the connection drops mid-file', async () => {
    server.setFault(lfsFile, { kind: 'dropConnection', afterBytes: 1_048_576 });
    const messages: string[] = [];
    assertSameAsFixture((await run(messages)).modelDir);
    const requests = fileRequests();
    assert.equal(requests.length, 2);
    assert.equal(requests[0].range, undefined);
    assert.match(requests[1].range ?? '', /^bytes=\d+-$/);
    const resumedAt = Number(/bytes=(\d+)-/.exec(requests[1].range!)![1]);
    assert.ok(resumedAt > 0 && resumedAt <= 1_048_576, `resumed at ${resumedAt}`);
    assert.match(messages.join('\n'), /connection dropped while downloading unet\/diffusion_pytorch_model\.safetensors/);
  });

  it('gives up after repeated drops without progress, keeps the partial file, and resumes it next time', async () => {
    leavePartial(server.file(lfsFile).content.subarray(0, 1_000_000));
    server.setFault(lfsFile, { kind: 'dropConnection', afterBytes: 0 }, Infinity);
    await assert.rejects(run(), (e: ModelStoreError) => {
      assert.equal(e.code, 'network');
      assert.match(e.message, /kept dropping while downloading unet\/diffusion_pytorch_model\.safetensors .*1,000,000 bytes are kept; run the download again to resume/);
      return true;
    });
    assert.equal(fileRequests().length, 4, 'the first try and three more');
    assert.equal(statSync(incompletePath()).size, 1_000_000);
    server.clearFaults();
    assertSameAsFixture((await run()).modelDir);
    assert.equal(fileRequests().at(-1)!.range, 'bytes=1000000-');
  });

  it('treats a connection that stops sending as dropped, and resumes it', async () => {
    server.setFault(lfsFile, { kind: 'stall', afterBytes: 512 * 1024 });
    const messages: string[] = [];
    const started = performance.now();
    const result = await resolveModel({
      model: server.repoId,
      cacheDir: cache.dir,
      endpoint: server.endpoint,
      // Well above what a loaded machine takes between two chunks on loopback, so that only the
      // stalled connection counts as one (the watchdog ignores our own disk writes, see blobDownload.ts).
      stallTimeoutMs: 500,
      // Only silence counts here; a trickle is downloadHostile.int.test.ts's.
      minBytesPerWindow: 1,
      onProgress: (e) => e.status === 'message' && messages.push(e.text),
    });
    assertSameAsFixture(result.modelDir);
    assert.ok(performance.now() - started >= 500);
    const requests = fileRequests();
    assert.equal(requests.length, 2);
    assert.match(requests[1].range ?? '', /^bytes=\d+-$/);
    assert.match(messages.join('\n'), /no data for 0\.5 s/);
  });

  it('leaves a resumable partial file when cancelled, and the next run resumes it', async () => {
    server.bytesPerSecond = 16_000_000;
    const controller = new AbortController();
    await assert.rejects(
      resolveModel({
        model: server.repoId,
        cacheDir: cache.dir,
        endpoint: server.endpoint,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.status === 'download' && e.file === lfsFile && e.fileBytes > 500_000) controller.abort();
        },
      }),
      (e: Error) => e.name === 'AbortError',
    );
    const kept = statSync(incompletePath()).size;
    assert.ok(kept > 500_000 && kept < server.file(lfsFile).content.length, `kept ${kept} bytes`);
    assert.ok(!readdirSync(blobsDir()).includes(server.file(lfsFile).sha256));
    assert.ok(!existsSync(join(cache.dir, '.locks', 'models--letterpress-test--tiny-sd2', `${server.file(lfsFile).sha256}.letterpress.lock`)));

    server.bytesPerSecond = 0;
    assertSameAsFixture((await run()).modelDir);
    assert.equal(fileRequests().at(-1)!.range, `bytes=${kept}-`);
  });
});
