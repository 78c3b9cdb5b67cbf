// Several files at once against a hub stand-in that limits each response's speed, as the hub's file
// store does per connection: the weights download concurrently, one progress stream stays sane, a
// cancel keeps every file in flight resumable, and one corrupt file leaves the others consistent.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import type { ModelStoreError } from '../runtime/modelStore/modelStoreError.ts';
import { requiredModelFiles } from '../runtime/modelStore/requiredModelFiles.ts';
import { resolveModel, type ResolveModelOptions } from '../runtime/modelStore/resolveModel.ts';
import { assertSameAsFixture, type HubServer, makeTempDir, type RecordedRequest, hubPerTest } from './hubServer.ts';

const repoFolder = 'models--letterpress-test--tiny-sd2';
const weights = ['unet/diffusion_pytorch_model.safetensors', 'text_encoder/model.safetensors', 'vae/diffusion_pytorch_model.safetensors'];
type DownloadEvent = Extract<ProgressEvent, { status: 'download' }>;

describe('parallel downloads', () => {
  let server: HubServer;
  let cache: ReturnType<typeof makeTempDir>;
  hubPerTest((s, c) => {
    server = s;
    cache = c;
  });

  const blobsDir = () => join(cache.dir, repoFolder, 'blobs');
  const snapshotDir = () => join(cache.dir, repoFolder, 'snapshots', server.main());
  const incompletePath = (file: string) => join(blobsDir(), `${server.file(file).sha256}.incomplete`);
  /** The file store's GETs of one weight file's bytes. */
  const bodyRequests = (file: string): RecordedRequest[] =>
    server.requests.filter((r) => r.host === 'cdn' && r.method === 'GET' && r.url.includes(server.file(file).sha256));

  function run(options: Partial<ResolveModelOptions> = {}, events: DownloadEvent[] = []) {
    return resolveModel({
      model: server.repoId,
      cacheDir: cache.dir,
      endpoint: server.endpoint,
      ...options,
      onProgress: (e) => {
        if (e.status === 'download') events.push(e);
        options.onProgress?.(e);
      },
    });
  }

  function assertSaneProgress(events: DownloadEvent[], total: number): void {
    assert.ok(events.length > 0);
    let bytes = 0;
    for (const e of events) {
      assert.equal(e.total, total);
      assert.ok(e.bytes >= bytes, `bytes went back from ${bytes} to ${e.bytes}`);
      assert.ok(e.bytes <= total);
      assert.ok(e.fileBytes <= e.fileTotal, `${e.file} ${e.fileBytes}/${e.fileTotal}`);
      assert.ok(e.bytesPerSecond >= 0 && Number.isFinite(e.bytesPerSecond));
      assert.ok(e.etaSeconds === null || (e.etaSeconds >= 0 && Number.isFinite(e.etaSeconds)));
      bytes = e.bytes;
    }
  }

  /** Every partial file is a prefix of the real file: resuming it yields the right bytes. */
  function assertResumablePartial(file: string): number {
    const kept = readFileSync(incompletePath(file));
    const content = server.file(file).content;
    assert.ok(kept.length > 0 && kept.length < content.length, `${file}: kept ${kept.length} of ${content.length}`);
    assert.ok(kept.equals(content.subarray(0, kept.length)), `${file}: the partial file is not the start of the file`);
    return kept.length;
  }

  function assertNoLocksHeld(): void {
    const locks = join(cache.dir, '.locks', repoFolder);
    assert.deepEqual(existsSync(locks) ? readdirSync(locks) : [], [], 'locks released');
  }

  it('fetches the three weight files at the same time, in one sane progress stream; one at a time with parallelDownloads 1', async () => {
    // Per response, so only concurrent connections make the download faster.
    server.bytesPerSecond = 4_000_000;
    const events: DownloadEvent[] = [];
    assertSameAsFixture((await run({}, events)).modelDir);
    const windows = weights.map((file) => {
      const [request, ...more] = bodyRequests(file);
      assert.equal(more.length, 0, `${file} fetched once`);
      return { file, start: request.startedAt, end: request.endedAt! };
    });
    const lastStart = Math.max(...windows.map((w) => w.start));
    const firstEnd = Math.min(...windows.map((w) => w.end));
    assert.ok(lastStart < firstEnd, `all three in flight together: ${JSON.stringify(windows)}`);

    const total = requiredModelFiles.reduce((sum, file) => sum + server.file(file).content.length, 0);
    assertSaneProgress(events, total);
    assert.equal(events.at(-1)!.bytes, total);
    assert.equal(Math.max(...events.map((e) => e.filesInFlight ?? 0)), 3);
    // While the weights are in flight the event names the largest of them.
    assert.ok(events.some((e) => e.file === weights[0] && e.filesInFlight === 3));
    // The small files come first or alongside, not after the weights.
    const firstConfig = server.requests.find((r) => r.method === 'GET' && r.url.endsWith('/model_index.json'))!;
    assert.ok(firstConfig.startedAt < firstEnd);

    const sequential = makeTempDir();
    try {
      server.bytesPerSecond = 16_000_000;
      const before = server.requests.length;
      assertSameAsFixture((await run({ cacheDir: sequential.dir, parallelDownloads: 1 })).modelDir);
      const gets = server.requests.slice(before).filter((r) => r.method === 'GET' && !r.url.startsWith('/api/') && r.status !== 302);
      assert.equal(gets.length, requiredModelFiles.length);
      for (let i = 1; i < gets.length; i++) assert.ok(gets[i].startedAt >= gets[i - 1].endedAt!, `${gets[i].url} started before ${gets[i - 1].url} ended`);
    } finally {
      sequential.remove();
    }
  });

  it('keeps a resumable partial file for every file in flight when cancelled, and the next run resumes each', async () => {
    server.bytesPerSecond = 2_000_000;
    const controller = new AbortController();
    const events: DownloadEvent[] = [];
    await assert.rejects(
      run({
        signal: controller.signal,
        onProgress: () => {
          if (weights.every((file) => server.servedBytes(file) > 100_000)) controller.abort();
        },
      }, events),
      (e: Error) => e.name === 'AbortError',
    );
    const kept = new Map(weights.map((file) => [file, assertResumablePartial(file)]));
    for (const file of weights) assert.ok(!existsSync(join(blobsDir(), server.file(file).sha256)), `no blob for ${file}`);
    assertNoLocksHeld();
    const count = events.length;
    await nextTurn();
    assert.equal(events.length, count, 'nothing reports progress after the cancel');

    server.bytesPerSecond = 0;
    assertSameAsFixture((await run()).modelDir);
    for (const file of weights) assert.equal(bodyRequests(file).at(-1)!.range, `bytes=${kept.get(file)}-`, `${file} resumed`);
  });

  it('fails naming the corrupt file; the files that finished stay valid in the cache, the ones in flight resumable', async () => {
    // The VAE (1.3 MB, after 1.5 MB of small files) ends well before the text encoder (6.4 MB) is checked.
    server.bytesPerSecond = 3_000_000;
    const corrupt = 'text_encoder/model.safetensors';
    const finished = 'vae/diffusion_pytorch_model.safetensors';
    const inFlight = 'unet/diffusion_pytorch_model.safetensors';
    server.setFault(corrupt, { kind: 'flipByte', offset: 1234 });
    const events: DownloadEvent[] = [];
    await assert.rejects(run({}, events), (e: ModelStoreError) => {
      assert.equal(e.code, 'integrity');
      assert.match(e.message, /^text_encoder\/model\.safetensors: the downloaded file is corrupt \(expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}\)/);
      return true;
    });
    const total = requiredModelFiles.reduce((sum, file) => sum + server.file(file).content.length, 0);
    assertSaneProgress(events, total);
    const count = events.length;
    await nextTurn();
    assert.equal(events.length, count, 'nothing reports progress after the failure');

    // The smaller files finished before the text encoder failed: linked into the snapshot, verified.
    for (const file of [...requiredModelFiles.filter((f) => !weights.includes(f)), finished]) {
      const entry = join(snapshotDir(), file);
      const target = resolve(dirname(entry), readlinkSync(entry));
      assert.ok(target.startsWith(blobsDir()), `${file} links to a blob`);
      assert.ok(readFileSync(entry).equals(server.file(file).content), `${file} has the right bytes`);
    }
    assert.ok(!existsSync(join(snapshotDir(), corrupt)));
    assert.ok(!existsSync(incompletePath(corrupt)) && !existsSync(join(blobsDir(), server.file(corrupt).sha256)), 'the corrupt file is gone');
    const unetKept = assertResumablePartial(inFlight);
    assert.ok(!existsSync(join(snapshotDir(), inFlight)));
    assertNoLocksHeld();

    server.bytesPerSecond = 0;
    const served = server.servedBytes(finished);
    assertSameAsFixture((await run()).modelDir);
    assert.equal(server.servedBytes(finished), served, 'the finished file is not fetched again');
    assert.equal(bodyRequests(inFlight).at(-1)!.range, `bytes=${unetKept}-`);
    assert.equal(statSync(join(snapshotDir(), corrupt)).size, server.file(corrupt).content.length);
  });
});
