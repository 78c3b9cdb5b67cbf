// A real runtime-like child process for the supervisor's integration tests: the production
// RuntimeServer and parent watch, with test handlers in place of the image pipeline.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { configureRequest, jobProgressNotification } from '../runtime/protocol/runtimeProtocol.ts';
import { watchParent } from '../runtime/process/parentWatch.ts';
import { processPort, RuntimeServer } from '../runtime/process/runtimeServer.ts';
import { testCrashRequest, testEchoRequest, testHangRequest, testSleepRequest, testSpawnRequest } from './runtimeTestProtocol.ts';

if (process.env.TEST_CRASH_AT_START) {
  process.stderr.write('test child: failing at start on purpose\n');
  process.exit(3);
}

const server = new RuntimeServer(processPort());
server.onRequest(configureRequest, () => ({ pid: process.pid, nodeVersion: process.version }));
server.onRequest(testEchoRequest, (params) => ({ ...params, pid: process.pid }));
server.onRequest(testSleepRequest, async ({ jobId = 'unnamed', ms }, { signal, notify }) => {
  const steps = Math.max(1, Math.round(ms / 50));
  for (let step = 1; step <= steps; step++) {
    await sleep(ms / steps, undefined, { signal });
    notify(jobProgressNotification, { jobId, event: { status: 'step', step, total: steps, image: 0, elapsedMs: (ms / steps) * step } });
  }
  return { slept: ms, pid: process.pid };
});
server.onRequest(testCrashRequest, ({ code, afterMs }) => {
  setTimeout(() => {
    process.stderr.write(`test child: crashing with code ${code}\n`);
    process.exit(code);
  }, afterMs);
  return new Promise<never>(() => {});
});
server.onRequest(testHangRequest, () => new Promise<never>(() => {}));
server.onRequest(testSpawnRequest, () => {
  const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return { pid: grandchild.pid! };
});

watchParent(
  (reason) => {
    process.stderr.write(`test child: exiting, ${reason}\n`);
    process.exit(0);
  },
  { intervalMs: 200 },
);
