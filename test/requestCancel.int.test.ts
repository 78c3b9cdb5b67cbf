// Cancelling a request that is not a job (no job id: runtime/model/plan) by its wire id, through the
// host's supervisor and the real runtime process (runtime/process/runtimeMain.ts): the host rejects at
// once, and the runtime really stops — the hub look-up it was waiting on is dropped (the loopback
// server sees its connection close) — and goes on answering. A timeout cancels the same way.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { RuntimeSupervisor } from '../extension/runtime/runtimeSupervisor.ts';
import { planModelRequest } from '../runtime/protocol/runtimeProtocol.ts';
import { tinyModelDir } from './fixturePaths.ts';
import { rejection } from './runtimeRejection.ts';

/** A hub that takes every request and never answers; it reports each request and when its connection closes. */
const arrivals: Array<{ request: IncomingMessage; closed: Promise<number> }> = [];
const sockets = new Set<Socket>();
const hub = createServer((request) => {
  arrivals.push({ request, closed: once(request.socket, 'close').then(() => performance.now()) });
});
hub.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

let supervisor: RuntimeSupervisor;
let cacheDir: string;

before(async () => {
  hub.listen(0, '127.0.0.1');
  await once(hub, 'listening');
  const { port } = hub.address() as AddressInfo;
  cacheDir = await mkdtemp(join(tmpdir(), 'letterpress-cancel-'));
  supervisor = new RuntimeSupervisor({
    modulePath: resolve('runtime/process/runtimeMain.ts'),
    execArgv: ['--import', 'tsx'],
    env: { HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_HUB_OFFLINE: '', HF_TOKEN: '' },
  });
});

after(async () => {
  supervisor.dispose();
  await supervisor.whenExited();
  for (const socket of sockets) socket.destroy();
  hub.close();
  await rm(cacheDir, { recursive: true, force: true });
});

/** Resolves once the hub has a request that arrived after `count` earlier ones. */
async function nextArrival(count: number): Promise<(typeof arrivals)[number]> {
  const deadline = Date.now() + 60_000;
  while (arrivals.length <= count) {
    if (Date.now() > deadline) assert.fail('the runtime never asked the hub');
    await new Promise((r) => setTimeout(r, 20));
  }
  return arrivals[count]!;
}

test('a plan request waiting on the hub is cancelled by its id: rejected as cancelled, the look-up dropped, the runtime still answers', async () => {
  // The runtime's first answer starts it; its pid must not change (no crash, no restart).
  const local = await supervisor.request(planModelRequest, { model: tinyModelDir });
  assert.equal(local.source, 'local');
  const pid = supervisor.pid;

  const controller = new AbortController();
  const pending = supervisor.request(planModelRequest, { model: 'someone/slow-model', cacheDir }, { signal: controller.signal });
  const arrival = await nextArrival(0);
  assert.match(arrival.request.url ?? '', /someone\/slow-model/);
  const abortedAt = performance.now();
  controller.abort();
  const error = await rejection(pending);
  assert.equal(error.code, 'cancelled');
  // The host only sent `runtime/request/cancel` with the request's id: the runtime aborted its fetch.
  const closedAt = await Promise.race([arrival.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the runtime kept the hub request open')), 10_000))]);
  assert.ok(closedAt >= abortedAt);

  assert.equal(supervisor.state, 'running');
  assert.equal(supervisor.pid, pid, 'the same runtime process');
  assert.deepEqual(await supervisor.request(planModelRequest, { model: tinyModelDir }), local, 'and it goes on answering');
});

test('a plan request past its timeout is cancelled the same way, and the next request is answered', async () => {
  const before = arrivals.length;
  const pending = supervisor.request(planModelRequest, { model: 'someone/slow-again', cacheDir }, { timeoutMs: 1500 });
  const arrival = await nextArrival(before);
  const error = await rejection(pending);
  assert.equal(error.code, 'timeout');
  assert.match(error.message, /runtime\/model\/plan within 2 s/);
  await Promise.race([arrival.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the runtime kept the hub request open')), 10_000))]);
  assert.equal((await supervisor.request(planModelRequest, { model: tinyModelDir })).source, 'local');
});
