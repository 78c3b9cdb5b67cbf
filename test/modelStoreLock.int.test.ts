// The per-blob lock file between processes, and the snapshot entry where symlinks are refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { acquireFileLock } from '../runtime/modelStore/fileLock.ts';
import { linkBlobIntoSnapshot, readRef } from '../runtime/modelStore/snapshotCache.ts';
import { RepoCachePaths } from '../runtime/modelStore/hubPaths.ts';
import { makeTempDir } from './hubServer.ts';

describe('blob lock file', () => {
  const temp = makeTempDir('lp-lock-');
  after(() => temp.remove());
  let n = 0;
  const lockPath = () => join(temp.dir, `blob${n++}.letterpress.lock`);

  it('makes a second taker wait until the holder releases it', async () => {
    const path = lockPath();
    const first = await acquireFileLock(path);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
    // Waits on what the second taker does rather than on a fixed sleep: on a loaded machine it may
    // not even have looked at the lock within a given time. Were the lock not exclusive, `second`
    // would settle first and the race below would say so.
    let acquired = false;
    let reportWaiting!: (pid: number | undefined) => void;
    const waiting = new Promise<number | undefined>((resolve) => (reportWaiting = resolve));
    const second = acquireFileLock(path, { pollMs: 10, onWait: (h) => reportWaiting(h?.pid) }).then((lock) => {
      acquired = true;
      return lock;
    });
    const firstEvent = await Promise.race([waiting.then((pid) => ({ waitedFor: pid })), second.then(() => 'acquired' as const)]);
    assert.deepEqual(firstEvent, { waitedFor: process.pid });
    // A few polls while the holder keeps the lock: none of them may take it.
    await sleep(60);
    assert.equal(acquired, false);
    await first.release();
    await (await second).release();
    assert.equal(acquired, true);
  });

  it('takes over a lock left by a process that died (kill -9 leaves it behind)', async () => {
    const path = lockPath();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), since: new Date().toISOString() }));
    let waited = false;
    const lock = await acquireFileLock(path, { onWait: () => (waited = true) });
    assert.equal(waited, false);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
    await lock.release();
  });

  it('takes over a lock nobody refreshed for staleMs (a holder on another host, or an empty file)', async () => {
    const path = lockPath();
    writeFileSync(path, JSON.stringify({ pid: 1, host: 'another-host', since: '2020-01-01T00:00:00Z' }));
    const started = performance.now();
    const lock = await acquireFileLock(path, { staleMs: 300, pollMs: 20 });
    assert.ok(performance.now() - started >= 250, 'waited until the lock went stale');
    await lock.release();

    const empty = lockPath();
    writeFileSync(empty, '');
    const old = new Date(Date.now() - 120_000);
    utimesSync(empty, old, old);
    await (await acquireFileLock(empty)).release();
  });

  it('judges a planted lock (100 MB, or a link) by its age alone, without reading it whole or touching a link\'s target', async () => {
    const big = lockPath();
    // Sparse: 100 MB by its size, nothing on disk. Read whole, it would be 100 MB of memory per poll.
    writeFileSync(big, '');
    truncateSync(big, 100 * 1024 * 1024);
    const old = new Date(Date.now() - 120_000);
    utimesSync(big, old, old);
    await (await acquireFileLock(big)).release();

    const target = join(temp.dir, 'someone-elses-file.json');
    writeFileSync(target, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const linked = lockPath();
    symlinkSync(target, linked);
    // Followed, the link would name this live process as the holder; a planted link names nobody.
    const holders: (number | undefined)[] = [];
    const started = performance.now();
    const lock = await acquireFileLock(linked, { staleMs: 300, pollMs: 20, onWait: (h) => holders.push(h?.pid) });
    assert.deepEqual(holders, [undefined]);
    assert.ok(performance.now() - started >= 250, 'waited until the link went stale');
    assert.equal(JSON.parse(readFileSync(linked, 'utf8')).pid, process.pid);
    assert.ok(!lstatSync(linked).isSymbolicLink(), 'the lock is a file of its own now');
    await lock.release();
    assert.ok(existsSync(target), 'the link\'s target is left alone');
  });

  it('keeps a live holder\'s lock fresh, so a waiter does not steal it, and a waiter can be cancelled', async () => {
    const path = lockPath();
    // Heartbeats 20 times per staleMs: a busy machine may delay a few of them, not all.
    const holder = await acquireFileLock(path, { staleMs: 800, heartbeatMs: 40 });
    // Pretend the holder lives on another host: only the heartbeat keeps the lock from going stale.
    writeFileSync(path, JSON.stringify({ pid: 1, host: 'another-host', since: new Date().toISOString() }));
    const controller = new AbortController();
    const waiter = acquireFileLock(path, { staleMs: 800, pollMs: 20, signal: controller.signal });
    // Well past staleMs: without the heartbeat the waiter would have taken the lock by now.
    await sleep(1_400);
    controller.abort();
    await assert.rejects(waiter, (e: Error) => e.name === 'AbortError');
    await holder.release();
  });
});

describe('snapshot entries', () => {
  it('links snapshot files to blobs with relative symlinks, else hard links, else copies', async () => {
    const temp = makeTempDir('lp-link-');
    try {
      const blob = join(temp.dir, 'blobs', 'abc');
      mkdirSync(join(temp.dir, 'blobs'));
      writeFileSync(blob, 'weights');
      const linked = join(temp.dir, 'snapshots', 'c1', 'unet', 'x.safetensors');
      assert.equal(await linkBlobIntoSnapshot(blob, linked), 'symlink');
      assert.equal(readlinkSync(linked), '../../../blobs/abc');
      assert.equal(readFileSync(linked, 'utf8'), 'weights');

      // Windows without developer mode refuses symlinks (EPERM): a hard link keeps one copy on disk.
      const refuse = async () => {
        throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
      };
      const hard = join(temp.dir, 'snapshots', 'c2', 'x.safetensors');
      assert.equal(await linkBlobIntoSnapshot(blob, hard, { symlink: refuse }), 'hardlink');
      assert.ok(!lstatSync(hard).isSymbolicLink());
      assert.equal(statSync(hard).ino, statSync(blob).ino);
      assert.equal(readFileSync(hard, 'utf8'), 'weights');

      // FAT and friends: neither link kind; the blob is copied.
      const copied = join(temp.dir, 'snapshots', 'c3', 'x.safetensors');
      assert.equal(await linkBlobIntoSnapshot(blob, copied, { symlink: refuse, link: refuse }), 'copy');
      assert.ok(!lstatSync(copied).isSymbolicLink());
      assert.notEqual(statSync(copied).ino, statSync(blob).ino);
      assert.equal(readFileSync(copied, 'utf8'), 'weights');

      // Other failures are not papered over.
      const broken = async () => {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      };
      await assert.rejects(linkBlobIntoSnapshot(blob, join(temp.dir, 'snapshots', 'c4', 'x'), { symlink: broken }), /no space/);
    } finally {
      temp.remove();
    }
  });
});

describe('refs', () => {
  const temp = makeTempDir('lp-refs-');
  after(() => temp.remove());

  it('reads the commit of a ref, and ignores a ref that is a link or too large to be one', async () => {
    const paths = new RepoCachePaths(temp.dir, 'someone/model');
    const commit = 'a'.repeat(40);
    mkdirSync(dirname(paths.ref('main')), { recursive: true });
    writeFileSync(paths.ref('main'), commit);
    assert.equal(await readRef(paths, 'main'), commit);

    const elsewhere = join(temp.dir, 'elsewhere');
    writeFileSync(elsewhere, 'b'.repeat(40));
    symlinkSync(elsewhere, paths.ref('linked'));
    assert.equal(await readRef(paths, 'linked'), undefined);

    writeFileSync(paths.ref('huge'), '');
    truncateSync(paths.ref('huge'), 100 * 1024 * 1024);
    assert.equal(await readRef(paths, 'huge'), undefined);
  });
});
