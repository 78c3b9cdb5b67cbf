// `letterpress download` as real processes against the local hub: the snapshot folder on stdout,
// a kill -9 mid-file that the next run resumes, two processes sharing one cache, and exit codes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { requiredModelFiles } from '../runtime/modelStore/requiredModelFiles.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { assertSameAsFixture, type HubServer, makeTempDir, startHubServer } from './hubServer.ts';

const repoFolder = 'models--letterpress-test--tiny-sd2';

interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function startCli(args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/cli/cliMain.ts', 'download', ...args], {
    env: { ...process.env, HF_HUB_OFFLINE: '', HF_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

describe('letterpress download (child processes)', () => {
  let server: HubServer;
  before(async () => {
    server = await startHubServer();
  });
  after(() => server.close());

  it('resumes after kill -9 in the middle of a file and never leaves a corrupt file in place', async () => {
    const cache = makeTempDir();
    try {
      const file = server.file('text_encoder/model.safetensors');
      const incomplete = join(cache.dir, repoFolder, 'blobs', `${file.sha256}.incomplete`);
      server.bytesPerSecond = 2_000_000;
      const env = { HF_ENDPOINT: server.endpoint };
      const first = startCli(['--model', server.repoId, '--cache-dir', cache.dir], env);
      await waitFor(() => existsSync(incomplete) && statSync(incomplete).size > 300_000, 'the text encoder download');
      first.child.kill('SIGKILL');
      const killed = await first.done;
      assert.equal(killed.signal, 'SIGKILL');
      const kept = statSync(incomplete).size;
      assert.ok(kept > 300_000 && kept < file.content.length, `kept ${kept}`);
      assert.ok(!existsSync(join(cache.dir, repoFolder, 'blobs', file.sha256)), 'no blob from a killed download');
      assert.ok(!existsSync(join(cache.dir, repoFolder, 'snapshots', server.main(), 'text_encoder/model.safetensors')));

      server.bytesPerSecond = 0;
      const second = await startCli(['--model', server.repoId, '--cache-dir', cache.dir], env).done;
      assert.equal(second.code, 0, second.stderr);
      const snapshot = join(cache.dir, repoFolder, 'snapshots', server.main());
      assert.equal(lastLine(second.stdout), snapshot);
      assertSameAsFixture(snapshot);
      const resumed = server.requests.filter((r) => r.host === 'cdn' && r.url.includes(file.sha256)).at(-1)!;
      assert.equal(resumed.range, `bytes=${kept}-`);
      assert.equal(resumed.status, 206);
      assert.match(second.stderr, /text_encoder\/model\.safetensors/);
      assert.doesNotMatch(second.stderr, /Waiting/, 'the dead process\'s lock was taken over at once');
    } finally {
      server.bytesPerSecond = 0;
      cache.remove();
    }
  });

  it('lets two processes download into one cache at once without fetching or writing a file twice', async () => {
    const cache = makeTempDir();
    const fresh = await startHubServer();
    try {
      // Slow until the second process is seen waiting on the first one's lock, then full speed.
      fresh.bytesPerSecond = 1_000_000;
      const env = { HF_ENDPOINT: fresh.endpoint };
      const args = ['--model', fresh.repoId, '--cache-dir', cache.dir];
      const first = startCli(args, env);
      const incomplete = join(cache.dir, repoFolder, 'blobs', `${fresh.file('text_encoder/model.safetensors').sha256}.incomplete`);
      await waitFor(() => existsSync(incomplete), 'the first process to start the text encoder');
      const second = startCli(args, env);
      let secondErr = '';
      second.child.stderr!.on('data', (d) => (secondErr += d));
      await waitFor(() => /Waiting for another Letterpress process \(pid \d+\)/.test(secondErr), 'the second process to wait');
      fresh.bytesPerSecond = 0;
      const [a, b] = await Promise.all([first.done, second.done]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stderr, new RegExp(`Waiting for another Letterpress process \\(pid ${first.child.pid}\\) that is downloading text_encoder/model.safetensors`));
      // The files the first process fetched count in the second one's progress, which ends complete.
      const totals = [...b.stderr.matchAll(/\| total (\S+ \S+)\/(\S+ \S+)/g)].at(-1);
      assert.ok(totals && totals[1] === totals[2], `the second process's progress ends at ${totals?.[0]}`);
      // Progress lines say when other files are in flight beside the one named.
      assert.match(a.stderr, /^\S+ [\d.]+ (?:bytes|[KMGT]B)\/[\d.]+ (?:bytes|[KMGT]B) \(\+\d more\) \| total /m);
      const snapshot = join(cache.dir, repoFolder, 'snapshots', fresh.main());
      assert.equal(lastLine(a.stdout), snapshot);
      assert.equal(lastLine(b.stdout), snapshot);
      assertSameAsFixture(snapshot);
      for (const path of ['text_encoder/model.safetensors', 'unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors']) {
        assert.equal(fresh.servedBytes(path), fresh.file(path).content.length, `${path} was sent exactly once`);
      }
      assert.ok(!readdirSync(join(cache.dir, repoFolder, 'blobs')).some((n) => n.includes('incomplete')));
      assert.deepEqual(readdirSync(join(cache.dir, '.locks', repoFolder)), [], 'locks released');
    } finally {
      await fresh.close();
      cache.remove();
    }
  });

  it('--dry-run prints what the download would fetch and fetches nothing', async () => {
    const cache = makeTempDir();
    try {
      const needed = requiredModelFiles.reduce((sum, file) => sum + statSync(join(tinyModelDir, file)).size, 0);
      const served = requiredModelFiles.reduce((sum, file) => sum + server.servedBytes(file), 0);
      const dry = await startCli(['--model', server.repoId, '--cache-dir', cache.dir, '--dry-run'], { HF_ENDPOINT: server.endpoint }).done;
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(JSON.parse(dry.stdout), { bytesToFetch: needed, cachedBytes: 0, totalBytes: needed });
      assert.match(dry.stderr, new RegExp(`to download, 0 bytes already here, .* in all \\(commit ${server.main()}\\)`));
      assert.equal(requiredModelFiles.reduce((sum, file) => sum + server.servedBytes(file), 0), served);
      assert.equal(existsSync(join(cache.dir, repoFolder)), false);
    } finally {
      cache.remove();
    }
  });

  it('exits non-zero with a one-line reason on corrupt data, an unreachable hub and offline mode', async () => {
    const cache = makeTempDir();
    try {
      server.setFault('vae/diffusion_pytorch_model.safetensors', { kind: 'flipByte', offset: 99 });
      const corrupt = await startCli(['--model', server.repoId, '--cache-dir', cache.dir], { HF_ENDPOINT: server.endpoint }).done;
      assert.equal(corrupt.code, 1);
      assert.match(corrupt.stderr, /letterpress: vae\/diffusion_pytorch_model\.safetensors: the downloaded file is corrupt \(expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}\)/);
      assert.doesNotMatch(corrupt.stderr, /at .*\.ts:\d+/, 'no stack trace');
      assert.equal(corrupt.stdout, '');

      const closedPort = await freePort();
      const unreachable = await startCli(['--model', server.repoId, '--cache-dir', cache.dir], { HF_ENDPOINT: `http://127.0.0.1:${closedPort}` }).done;
      assert.equal(unreachable.code, 1);
      assert.match(unreachable.stderr, new RegExp(`letterpress: Cannot reach 127\\.0\\.0\\.1:${closedPort} .*ECONNREFUSED`));

      const connections = server.connections;
      const offline = await startCli(['--model', server.repoId, '--cache-dir', cache.dir], { HF_ENDPOINT: server.endpoint, HF_HUB_OFFLINE: '1' }).done;
      assert.equal(offline.code, 1);
      assert.match(offline.stderr, /is not in the cache .*offline mode is on/);
      assert.equal(server.connections, connections);
    } finally {
      server.clearFaults();
      cache.remove();
    }
  });
});
