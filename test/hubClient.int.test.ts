// The model store against a local hub (test/hubServer.ts): what it asks for, what it sends to
// which host, and the huggingface_hub cache layout it leaves behind.
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelStoreError } from '../runtime/modelStore/modelStoreError.ts';
import { requiredModelFiles } from '../runtime/modelStore/requiredModelFiles.ts';
import { resolveModel } from '../runtime/modelStore/resolveModel.ts';
import type { ProgressEvent } from '../runtime/protocol/generationTypes.ts';
import { assertSameAsFixture, type HubServer, makeTempDir, startHubServer } from './hubServer.ts';

describe('hub download (happy path)', () => {
  let server: HubServer;
  const cache = makeTempDir();
  let events: ProgressEvent[] = [];
  let result: Awaited<ReturnType<typeof resolveModel>>;

  before(async () => {
    server = await startHubServer({ requireToken: 'hf_secret' });
    result = await resolveModel({
      model: server.repoId,
      cacheDir: cache.dir,
      endpoint: server.endpoint,
      token: 'hf_secret',
      onProgress: (e) => events.push(e),
    });
  });
  after(async () => {
    await server.close();
    cache.remove();
  });

  it('downloads exactly the needed files into snapshots/<commit> with the served bytes', () => {
    assert.equal(result.source, 'download');
    assert.equal(result.revision, server.main());
    assert.equal(result.modelDir, join(cache.dir, 'models--letterpress-test--tiny-sd2', 'snapshots', server.main()));
    assertSameAsFixture(result.modelDir);
    const fetched = server.requests.filter((r) => r.method === 'GET' && (r.host === 'cdn' || r.status === 200) && !r.url.startsWith('/api/'));
    assert.equal(fetched.length, requiredModelFiles.length, 'the bytes of each needed file are fetched once');
    assert.ok(!server.requests.some((r) => r.url.includes('fp16') || r.url.includes('README')), 'fp16 variant and README not fetched');
  });

  it('lays the cache out like huggingface_hub: blobs by sha256/git sha1, relative symlinks, refs/main', () => {
    const repoDir = join(cache.dir, 'models--letterpress-test--tiny-sd2');
    assert.equal(readFileSync(join(repoDir, 'refs', 'main'), 'utf8'), server.main());
    for (const file of requiredModelFiles) {
      const served = server.file(file);
      const blobName = served.lfs ? served.sha256 : served.gitSha1;
      const link = join(result.modelDir, file);
      assert.ok(lstatSync(link).isSymbolicLink(), `${file} is a symlink`);
      const depth = file.split('/').length + 1;
      assert.equal(readlinkSync(link), [...Array(depth).fill('..'), 'blobs', blobName].join('/'));
    }
    const blobs = readdirSync(join(repoDir, 'blobs'));
    assert.equal(blobs.length, requiredModelFiles.length);
    assert.ok(!blobs.some((b) => b.endsWith('.incomplete')));
  });

  it('pins the commit from X-Repo-Commit after the first request and sends HEADs without following the file-store redirect', () => {
    const hubRequests = server.requests.filter((r) => r.host === 'hub');
    assert.match(hubRequests[0].url, /\/resolve\/main\/model_index\.json$/);
    assert.equal(hubRequests[0].method, 'HEAD');
    for (const request of hubRequests.slice(1)) assert.ok(!request.url.includes('/main/'), `${request.url} uses the commit`);
    const lfsHeads = hubRequests.filter((r) => r.method === 'HEAD' && r.url.endsWith('.safetensors'));
    assert.equal(lfsHeads.length, 3);
    assert.ok(lfsHeads.every((r) => r.status === 302));
    assert.ok(server.requests.some((r) => r.url.startsWith('/api/models/letterpress-test/tiny-sd2/revision/') && r.url.includes('blobs=true')));
  });

  it('sends the token to the hub host only, never to the file store it redirects to', () => {
    const cdn = server.requests.filter((r) => r.host === 'cdn');
    assert.equal(cdn.length, 3, 'the three safetensors files come from the second loopback host');
    const redirected = server.requests.filter((r) => r.host === 'hub' && r.method === 'GET' && r.status === 302);
    assert.equal(redirected.length, 3, 'each download starts at the resolve URL, so the signed URL is fresh');
    assert.ok(cdn.every((r) => r.authorization === undefined));
    assert.ok(server.requests.filter((r) => r.host === 'hub').every((r) => r.authorization === 'Bearer hf_secret'));
  });

  it('reports progress per file and overall, throttled, ending at the total', () => {
    const downloads = events.filter((e) => e.status === 'download');
    const total = requiredModelFiles.reduce((sum, f) => sum + server.file(f).content.length, 0);
    assert.ok(downloads.every((e) => e.total === total));
    const last = downloads.at(-1)!;
    assert.equal(last.bytes, total);
    for (const file of requiredModelFiles) {
      const done = downloads.filter((e) => e.file === file).at(-1)!;
      assert.equal(done.fileBytes, server.file(file).content.length);
      assert.equal(done.fileTotal, done.fileBytes);
    }
    for (let i = 1; i < downloads.length; i++) assert.ok(downloads[i].bytes >= downloads[i - 1].bytes, 'overall bytes never go back');
    // Two forced events per file (start, end) plus at most ~10 per second in between.
    assert.ok(downloads.length <= requiredModelFiles.length * 2 + 20, `${downloads.length} events`);
  });

  it('uses the cache on the next call without any request, and without a token', async () => {
    const before = server.connections;
    const again = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
    assert.deepEqual(again, { modelDir: result.modelDir, source: 'cache', revision: server.main() });
    assert.equal(server.connections, before);
  });

  it('keeps a cached copy usable when the hub is gone, even when asked to refresh', async () => {
    await server.close();
    const warnings: string[] = [];
    const again = await resolveModel({
      model: server.repoId,
      cacheDir: cache.dir,
      endpoint: server.endpoint,
      refresh: true,
      onProgress: (e) => e.status === 'message' && warnings.push(e.text),
    });
    assert.equal(again.source, 'cache');
    assert.equal(again.modelDir, result.modelDir);
    assert.match(warnings.join('\n'), /Cannot reach 127\.0\.0\.1/);
  });
});

describe('hub download (revisions, tokens, hostile listings)', () => {
  it('keeps every file of a download on the pinned commit while main moves, and moves on only when asked', async () => {
    const server = await startHubServer();
    const cache = makeTempDir();
    try {
      const first = server.main();
      const newScheduler = Buffer.from(JSON.stringify({ _class_name: 'PNDMScheduler', num_train_timesteps: 1000 }));
      let moved = '';
      server.onFileServed = (path) => {
        if (!moved && path === 'model_index.json') {
          moved = server.commit({ 'scheduler/scheduler_config.json': newScheduler, 'model_index.json': '{"moved": true}' });
        }
      };
      const result = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
      assert.notEqual(moved, '');
      assert.equal(result.revision, first);
      assertSameAsFixture(result.modelDir);

      // Later: without refresh the cached snapshot wins with no request; with it, main's new commit.
      const connections = server.connections;
      const cached = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
      assert.equal(cached.revision, first);
      assert.equal(server.connections, connections);
      const cdnBefore = server.requests.filter((r) => r.host === 'cdn').length;
      const refreshed = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint, refresh: true });
      assert.equal(refreshed.revision, moved);
      assert.equal(refreshed.source, 'download');
      assert.deepEqual(readFileSync(join(refreshed.modelDir, 'scheduler/scheduler_config.json')), newScheduler);
      assert.equal(readFileSync(join(refreshed.modelDir, 'model_index.json'), 'utf8'), '{"moved": true}');
      assert.equal(server.requests.filter((r) => r.host === 'cdn').length, cdnBefore, 'unchanged weights are reused from blobs/');
      assert.equal(readFileSync(join(cache.dir, 'models--letterpress-test--tiny-sd2/refs/main'), 'utf8'), moved);
      assertSameAsFixture(result.modelDir);
    } finally {
      await server.close();
      cache.remove();
    }
  });

  it('follows the relative redirect of a renamed repository, keeping the token on the hub host', async () => {
    const server = await startHubServer({ renamedFrom: 'letterpress-test/old-name', requireToken: 'hf_t' });
    const cache = makeTempDir();
    try {
      const result = await resolveModel({ model: 'letterpress-test/old-name', cacheDir: cache.dir, endpoint: server.endpoint, token: 'hf_t' });
      assert.equal(result.modelDir, join(cache.dir, 'models--letterpress-test--old-name', 'snapshots', server.main()));
      assertSameAsFixture(result.modelDir);
      const first = server.requests.slice(0, 2).map((r) => [r.method, r.url, r.status]);
      assert.deepEqual(first, [
        ['HEAD', '/letterpress-test/old-name/resolve/main/model_index.json', 307],
        ['HEAD', '/letterpress-test/tiny-sd2/resolve/main/model_index.json', 200],
      ]);
      assert.ok(server.requests.some((r) => r.url.startsWith('/api/models/letterpress-test/tiny-sd2/') && r.status === 200));
      assert.ok(server.requests.filter((r) => r.host === 'hub').every((r) => r.authorization === 'Bearer hf_t'));
      assert.ok(server.requests.filter((r) => r.host === 'cdn').every((r) => r.authorization === undefined));
    } finally {
      await server.close();
      cache.remove();
    }
  });

  it('tries again after a 503 from the hub and a 502 from the file store', async () => {
    const server = await startHubServer();
    const cache = makeTempDir();
    try {
      server.failures.hub.push(503);
      server.failures.cdn.push(502);
      const result = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
      assertSameAsFixture(result.modelDir);
      assert.deepEqual(server.requests.slice(0, 2).map((r) => [r.method, r.status]), [['HEAD', 503], ['HEAD', 200]]);
      assert.deepEqual(server.requests.filter((r) => r.host === 'cdn').map((r) => r.status), [502, 200, 200, 200]);
    } finally {
      await server.close();
      cache.remove();
    }
  });

  it('explains a gated repository, an unknown revision and a missing repository', async () => {
    const server = await startHubServer();
    const cache = makeTempDir();
    try {
      const run = (options: { model?: string; revision?: string } = {}) =>
        resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint, ...options });
      server.failures.hub.push({ status: 403, code: 'GatedRepo' });
      await assert.rejects(run(), (e: ModelStoreError) => e.code === 'http' && /accept its terms/.test(e.message));
      await assert.rejects(run({ revision: 'v9' }), (e: ModelStoreError) => /has no revision "v9"/.test(e.message));
      await assert.rejects(run({ model: 'letterpress-test/nope' }), (e: ModelStoreError) => /letterpress-test\/nope was not found or needs a Hugging Face token/.test(e.message));
    } finally {
      await server.close();
      cache.remove();
    }
  });

  it('resolves a revision given as a commit hash and stores no ref for it', async () => {
    const server = await startHubServer();
    const cache = makeTempDir();
    try {
      const commit = server.main();
      server.commit({ 'model_index.json': '{}' });
      const result = await resolveModel({ model: server.repoId, revision: commit, cacheDir: cache.dir, endpoint: server.endpoint });
      assert.equal(result.revision, commit);
      assertSameAsFixture(result.modelDir);
      assert.ok(!existsSync(join(cache.dir, 'models--letterpress-test--tiny-sd2/refs', commit)));
    } finally {
      await server.close();
      cache.remove();
    }
  });

  it('takes the token from HF_TOKEN and explains a 401 without one', async () => {
    const server = await startHubServer({ requireToken: 'hf_env' });
    const cache = makeTempDir();
    const saved = process.env.HF_TOKEN;
    try {
      delete process.env.HF_TOKEN;
      await assert.rejects(
        resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint }),
        (e: ModelStoreError) => e.code === 'http' && /HF_TOKEN/.test(e.message) && /401/.test(e.message),
      );
      process.env.HF_TOKEN = 'hf_env';
      const result = await resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
      assertSameAsFixture(result.modelDir);
    } finally {
      if (saved === undefined) delete process.env.HF_TOKEN;
      else process.env.HF_TOKEN = saved;
      await server.close();
      cache.remove();
    }
  });

  for (const name of ['../x', '../../../../tmp/escape', '/etc/passwd', 'unet\\..\\..\\x', 'C:\\Windows\\x', 'a/./b']) {
    it(`refuses a listing with the file name ${JSON.stringify(name)} and writes nothing`, async () => {
      const server = await startHubServer();
      const cache = makeTempDir();
      try {
        server.extraSiblings = [name];
        await assert.rejects(
          resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint }),
          (e: ModelStoreError) => e.code === 'unsafe-path' && e.message.includes(`"${name}"`),
        );
        assert.equal(server.requests.filter((r) => r.method === 'GET' && !r.url.startsWith('/api/')).length, 0);
        assert.ok(!existsSync(join(cache.dir, 'models--letterpress-test--tiny-sd2', 'blobs')));
      } finally {
        await server.close();
        cache.remove();
      }
    });
  }

  it('says which needed file a repository lacks', async () => {
    const server = await startHubServer();
    const cache = makeTempDir();
    try {
      server.commit({ 'unet/diffusion_pytorch_model.safetensors': null });
      await assert.rejects(
        resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint }),
        (e: ModelStoreError) => e.code === 'missing-files' && e.message.includes('unet/diffusion_pytorch_model.safetensors'),
      );
    } finally {
      await server.close();
      cache.remove();
    }
  });
});
