// Pure parts of the model store: where the cache is, which names are safe, ETags, hashes, progress.
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { ContentHasher } from '../runtime/modelStore/contentHasher.ts';
import { formatBytes } from '../runtime/protocol/byteSize.ts';
import { DownloadProgress } from '../runtime/modelStore/downloadProgress.ts';
import { runParallelDownloads } from '../runtime/modelStore/parallelDownloads.ts';
import { normalizeEtag } from '../runtime/modelStore/hubClient.ts';
import { defaultHubCacheDir, hubEndpoint, isTruthyEnv, RepoCachePaths, unsafePathReason } from '../runtime/modelStore/hubPaths.ts';

describe('hub cache location (as huggingface_hub finds it)', () => {
  it('prefers HF_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME/huggingface/hub, then ~/.cache/huggingface/hub', () => {
    assert.equal(defaultHubCacheDir({ HF_HUB_CACHE: '/a', HF_HOME: '/b' }), '/a');
    assert.equal(defaultHubCacheDir({ HUGGINGFACE_HUB_CACHE: '/legacy' }), '/legacy');
    assert.equal(defaultHubCacheDir({ HF_HOME: '/b', XDG_CACHE_HOME: '/c' }), join('/b', 'hub'));
    assert.equal(defaultHubCacheDir({ XDG_CACHE_HOME: '/c' }), join('/c', 'huggingface', 'hub'));
    assert.equal(defaultHubCacheDir({}), join(homedir(), '.cache', 'huggingface', 'hub'));
    assert.equal(defaultHubCacheDir({ HF_HOME: '~/hf' }), join(homedir(), 'hf', 'hub'));
  });

  it('names folders like huggingface_hub: models--org--name, refs, blobs, snapshots', () => {
    const paths = new RepoCachePaths('/cache', 'pbevan11/stable-diffusion-2-typography');
    assert.equal(paths.repoDir, join('/cache', 'models--pbevan11--stable-diffusion-2-typography'));
    assert.equal(paths.snapshotFile('c'.repeat(40), 'unet/config.json'), join(paths.repoDir, 'snapshots', 'c'.repeat(40), 'unet', 'config.json'));
    assert.equal(paths.ref('refs/pr/1'), join(paths.repoDir, 'refs', 'refs', 'pr', '1'));
  });

  it('takes the endpoint from the caller, then HF_ENDPOINT, without a trailing slash', () => {
    assert.equal(hubEndpoint(undefined, {}), 'https://huggingface.co');
    assert.equal(hubEndpoint(undefined, { HF_ENDPOINT: 'https://hf-mirror.com/' }), 'https://hf-mirror.com');
    assert.equal(hubEndpoint('http://127.0.0.1:8080//', { HF_ENDPOINT: 'https://x' }), 'http://127.0.0.1:8080');
  });

  it('reads offline switches the way huggingface_hub does', () => {
    for (const yes of ['1', 'true', 'ON', 'yes']) assert.ok(isTruthyEnv(yes), yes);
    for (const no of [undefined, '', '0', 'false', 'off']) assert.ok(!isTruthyEnv(no), String(no));
  });
});

describe('repository file names from the server', () => {
  it('accepts ordinary nested names', () => {
    for (const name of ['model_index.json', 'unet/diffusion_pytorch_model.safetensors', 'a/b/c.d', '.gitattributes', 'x..y']) {
      assert.equal(unsafePathReason(name), undefined, name);
    }
  });

  it('refuses names that could leave the snapshot folder on POSIX or Windows', () => {
    for (const name of ['../x', 'a/../../x', '..', '/etc/passwd', '\\\\host\\share\\x', 'C:\\x', 'C:x', 'a\\..\\b', 'a//b', './a', '', 'a\0b']) {
      assert.notEqual(unsafePathReason(name), undefined, JSON.stringify(name));
    }
  });
});

describe('ETags and hashes', () => {
  it('strips quotes and the weak prefix from ETags', () => {
    assert.equal(normalizeEtag('"abc"'), 'abc');
    assert.equal(normalizeEtag('W/"abc"'), 'abc');
    assert.equal(normalizeEtag('abc'), 'abc');
    assert.equal(normalizeEtag(null), undefined);
  });

  it('computes git blob ids as git does (well-known ids of "" and "hello\\n") and sha256 alongside', () => {
    const empty = new ContentHasher(0);
    assert.equal(empty.digest().gitSha1, 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    const hello = new ContentHasher(6);
    hello.update(Buffer.from('hel'));
    hello.update(Buffer.from('lo\n'));
    const digest = hello.digest();
    assert.equal(digest.gitSha1, 'ce013625030ba8dba906f756967f9e9ca394464a');
    assert.equal(digest.sha256, '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
    assert.equal(hello.bytes, 6);
  });

  it('formats sizes in decimal units', () => {
    assert.equal(formatBytes(999), '999 bytes');
    assert.equal(formatBytes(5_210_000_000), '5.21 GB');
  });
});

describe('download progress events', () => {
  it('throttles to one event per interval, forces start and end of each file, and computes speed and ETA', () => {
    let now = 0;
    const events: ProgressEvent[] = [];
    const progress = new DownloadProgress(3_000, (e) => events.push(e), 100, 5_000, () => now);
    const a = progress.startFile('a', 1_000, 0);
    for (let i = 0; i < 10; i++) {
      now += 10;
      a.addReceived(100); // 100 bytes every 10 ms: 10 kB/s
    }
    a.finish();
    const b = progress.startFile('b', 2_000, 500); // resumed: 500 bytes already on disk
    now += 50;
    b.addReceived(500);
    now += 60;
    b.addReceived(500);
    b.finish();
    const downloads = events.filter((e) => e.status === 'download');
    assert.deepEqual(
      downloads.map((e) => [e.file, e.fileBytes, e.bytes]),
      [
        ['a', 0, 0],
        ['a', 1_000, 1_000],
        ['b', 500, 1_500],
        ['b', 1_500, 2_500],
        ['b', 2_000, 3_000],
      ],
    );
    const mid = downloads[3];
    assert.equal(mid.total, 3_000);
    // 2000 bytes received over 210 ms since the first sample.
    assert.ok(Math.abs(mid.bytesPerSecond - 2_000 / 0.21) < 1, String(mid.bytesPerSecond));
    assert.ok(Math.abs(mid.etaSeconds! - 500 / mid.bytesPerSecond) < 1e-9);
    assert.equal(downloads[0].etaSeconds, null);
  });
});

describe('download progress with several files in flight', () => {
  it('sums the files in flight, names the largest, never goes back, and ends each file with an event naming it', () => {
    let now = 0;
    const events: ProgressEvent[] = [];
    const progress = new DownloadProgress(4_000, (e) => events.push(e), 100, 5_000, () => now);
    const small = progress.startFile('small', 1_000, 0);
    const large = progress.startFile('large', 3_000, 1_000); // resumed
    now += 100;
    small.addReceived(400);
    now += 100;
    large.addReceived(500);
    now += 100;
    // The server ignored Range: the large file starts over from zero.
    large.setFileBytes(0);
    small.addReceived(100);
    now += 100;
    small.addReceived(500);
    small.finish();
    now += 100;
    large.addReceived(2_000);
    now += 100;
    large.addReceived(1_000);
    large.finish();
    const downloads = events.flatMap((e) => (e.status === 'download' ? [e] : []));
    assert.deepEqual(
      downloads.map((e) => [e.file, e.fileBytes, e.bytes, e.filesInFlight]),
      [
        ['small', 0, 0, 1],
        ['large', 1_000, 1_000, 2],
        ['large', 1_000, 1_400, 2],
        ['large', 1_500, 1_900, 2],
        ['large', 0, 1_900, 2], // 500 + 0 on disk, but what was shown stays
        ['small', 1_000, 1_900, 1],
        ['large', 2_000, 3_000, 1],
        ['large', 3_000, 4_000, 1], // the finish adds nothing new: no second event
      ],
    );
    for (const e of downloads) assert.equal(e.total, 4_000);
    // Received bytes only (not the resumed 1000): 4500 over 600 ms.
    const last = downloads.at(-1)!;
    assert.ok(Math.abs(last.bytesPerSecond - 4_500 / 0.6) < 1, String(last.bytesPerSecond));
    assert.equal(last.etaSeconds, 0);
  });

  it('counts a file another process finished meanwhile, and forgets a stopped file without going back', () => {
    const events: ProgressEvent[] = [];
    const progress = new DownloadProgress(3_000, (e) => events.push(e), 0);
    const failing = progress.startFile('a', 1_000, 0);
    failing.addReceived(600);
    failing.stop();
    progress.fileAlreadyDone('b', 2_000);
    const bytes = events.flatMap((e) => (e.status === 'download' ? [[e.file, e.bytes]] : []));
    assert.deepEqual(bytes, [
      ['a', 0],
      ['a', 600],
      ['b', 2_000],
    ]);
  });
});

describe('parallel download scheduling', () => {
  const file = (path: string, size: number, lfs: boolean) => ({ path, size, ...(lfs ? { sha256: 'x' } : {}) });
  const files = [file('a.json', 1, false), file('b.json', 2, false), file('te', 50, true), file('unet', 300, true), file('vae', 10, true)];

  /** Runs the schedule with fetches that finish when the test says; records starts. */
  function scheduled(limit: number, fail?: string) {
    const started: string[] = [];
    const settled: string[] = [];
    const pending = new Map<string, () => void>();
    const done = runParallelDownloads(files, { limit }, (f, signal) => {
      started.push(f.path);
      return new Promise<void>((resolve, reject) => {
        let over = false;
        signal.addEventListener('abort', () => {
          if (over) return;
          over = true;
          // A cancelled download takes a moment to close its file and release its lock.
          setTimeout(() => {
            settled.push(`${f.path} cancelled`);
            reject(signal.reason);
          }, 20);
        });
        pending.set(f.path, () => {
          over = true;
          settled.push(f.path);
          if (f.path === fail) reject(new Error(`${f.path} is corrupt`));
          else resolve();
        });
      });
    });
    const finish = async (path: string) => {
      pending.get(path)!();
      await new Promise((r) => setImmediate(r));
    };
    return { started, settled, done, finish };
  }

  it('starts the small files in one lane and the weights largest first in the others, at most limit at once', async () => {
    const run = scheduled(3);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(run.started, ['a.json', 'unet', 'te']);
    await run.finish('a.json');
    assert.deepEqual(run.started, ['a.json', 'unet', 'te', 'b.json']);
    await run.finish('te');
    assert.deepEqual(run.started.at(-1), 'vae');
    for (const path of ['b.json', 'vae', 'unet']) await run.finish(path);
    await run.done;
    assert.equal(run.started.length, files.length);
  });

  it('with limit 1 fetches one file at a time, the small ones first', async () => {
    const run = scheduled(1);
    for (const path of ['a.json', 'b.json', 'unet', 'te', 'vae']) {
      await new Promise((r) => setImmediate(r));
      assert.equal(run.started.at(-1), path);
      await run.finish(path);
    }
    await run.done;
  });

  it('after a failure starts nothing new, cancels the files in flight and throws that failure once all have settled', async () => {
    const run = scheduled(3, 'te');
    await new Promise((r) => setImmediate(r));
    let thrown: unknown;
    const outcome = run.done.catch((error: unknown) => (thrown = error));
    await run.finish('te');
    await outcome;
    assert.match(String(thrown), /te is corrupt/);
    assert.deepEqual(run.started, ['a.json', 'unet', 'te']);
    assert.deepEqual(run.settled.sort(), ['a.json cancelled', 'te', 'unet cancelled']);
  });
});
