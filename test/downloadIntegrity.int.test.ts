// Bytes that are not the file are never kept: a short body, one flipped byte, an HTML page
// served with 200, a corrupt partial file. Each is rejected, deleted and named in the error.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelStoreError } from '../runtime/modelStore/modelStoreError.ts';
import { resolveModel } from '../runtime/modelStore/resolveModel.ts';
import { assertSameAsFixture, type HubFault, type HubServer, makeTempDir, sha256Hex, hubPerTest } from './hubServer.ts';

const repoFolder = 'models--letterpress-test--tiny-sd2';
const lfsFile = 'text_encoder/model.safetensors';
const smallFile = 'unet/config.json';

describe('download integrity', () => {
  let server: HubServer;
  let cache: ReturnType<typeof makeTempDir>;
  hubPerTest((s, c) => {
    server = s;
    cache = c;
  });

  const run = () => resolveModel({ model: server.repoId, cacheDir: cache.dir, endpoint: server.endpoint });
  const blobsDir = () => join(cache.dir, repoFolder, 'blobs');

  async function expectRejected(file: string, fault: HubFault | undefined, pattern: RegExp, thenRetry = false): Promise<void> {
    if (fault) server.setFault(file, fault);
    await assert.rejects(run(), (e: ModelStoreError) => {
      assert.equal(e.code, 'integrity');
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      assert.match(e.message, pattern);
      return true;
    });
    const stored = server.file(file);
    const blobs = existsSync(blobsDir()) ? readdirSync(blobsDir()) : [];
    assert.ok(!blobs.some((b) => b.startsWith(stored.lfs ? stored.sha256 : stored.gitSha1)), `nothing of ${file} is kept: ${blobs}`);
    assert.ok(!existsSync(join(cache.dir, repoFolder, 'snapshots', server.main(), file)));
    // The fault was one-off: the next run gets the real bytes.
    if (thenRetry) assertSameAsFixture((await run()).modelDir);
  }

  it('rejects a truncated body of an LFS file', async () => {
    await expectRejected(lfsFile, { kind: 'truncate', bytes: 100_000 }, /expected 6,442,168 bytes, the server sends 100,000 bytes/, true);
  });

  it('rejects one flipped byte of an LFS file by its sha256', async () => {
    const stored = server.file(lfsFile);
    const flipped = Buffer.from(stored.content);
    flipped[1_234_567] ^= 0xff;
    await expectRejected(
      lfsFile,
      { kind: 'flipByte', offset: 1_234_567 },
      new RegExp(`expected sha256 ${stored.sha256}, got ${sha256Hex(flipped)}`),
    );
  });

  it('rejects one flipped byte of a small file by its git blob sha1', async () => {
    const stored = server.file(smallFile);
    const flipped = Buffer.from(stored.content);
    flipped[10] ^= 0xff;
    const gitSha1 = createHash('sha1').update(`blob ${flipped.length}\0`).update(flipped).digest('hex');
    await expectRejected(smallFile, { kind: 'flipByte', offset: 10 }, new RegExp(`expected git blob sha1 ${stored.gitSha1}, got ${gitSha1}`));
  });

  it('rejects an HTML error page served with 200 in place of an LFS file', async () => {
    await expectRejected(lfsFile, { kind: 'htmlPage' }, /expected 6,442,168 bytes, got \d+ bytes\).*web page/);
  });

  it('rejects an HTML error page served with 200 in place of a config file', async () => {
    await expectRejected('model_index.json', { kind: 'htmlPage' }, /expected 510 bytes.*web page/);
  });

  it('accepts a gzip-compressed body from a proxy that ignores Accept-Encoding: identity', async () => {
    server.setFault('tokenizer/vocab.json', { kind: 'gzip' });
    assertSameAsFixture((await run()).modelDir);
    const request = server.requests.find((r) => r.method === 'GET' && r.url.endsWith('/tokenizer/vocab.json'));
    assert.equal(request?.status, 200);
  });

  it('rejects a partial file from an earlier run whose bytes are wrong, once complete', async () => {
    const stored = server.file(lfsFile);
    mkdirSync(blobsDir(), { recursive: true });
    const partial = Buffer.from(stored.content.subarray(0, 500_000));
    partial[42] ^= 0x01;
    writeFileSync(join(blobsDir(), `${stored.sha256}.incomplete`), partial);
    await expectRejected(lfsFile, undefined, new RegExp(`expected sha256 ${stored.sha256}`), true);
    const ranged = server.requests.find((r) => r.host === 'cdn' && r.range !== undefined);
    assert.equal(ranged?.range, 'bytes=500000-');
    assert.equal(ranged?.status, 206);
  });
  it('downloads again a blob that is a symbolic link of the right size, leaving its target alone', async () => {
    const stored = server.file(lfsFile);
    mkdirSync(blobsDir(), { recursive: true });
    const outside = makeTempDir('letterpress-outside-');
    try {
      // Right size, wrong bytes: were the link trusted, the model would hold them.
      const target = join(outside.dir, 'planted.safetensors');
      writeFileSync(target, Buffer.alloc(stored.content.length, 7));
      symlinkSync(target, join(blobsDir(), stored.sha256));
      assertSameAsFixture((await run()).modelDir);
      assert.ok(lstatSync(join(blobsDir(), stored.sha256)).isFile(), 'the blob is a file of its own now');
      assert.ok(readFileSync(target).equals(Buffer.alloc(stored.content.length, 7)), 'the link\'s target is untouched');
    } finally {
      outside.remove();
    }
  });
});
