import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobQueue } from '../extension/runtime/jobQueue.ts';
import { RuntimeSupervisor, type RuntimeExitEvent, type RuntimeSupervisorOptions } from '../extension/runtime/runtimeSupervisor.ts';
import { isRuntimeError, requestType, RuntimeError } from '../runtime/protocol/runtimeProtocol.ts';
import { record } from '../runtime/protocol/paramsValidation.ts';
import { isProcessAlive, watchParent } from '../runtime/process/parentWatch.ts';
import { testCrashRequest, testEchoRequest, testHangRequest, testSleepRequest, testSpawnRequest } from './runtimeTestProtocol.ts';
import { rejection } from './runtimeRejection.ts';

const childModule = resolve('test/runtimeTestChild.ts');
const supervisors: RuntimeSupervisor[] = [];

function makeSupervisor(options: Partial<RuntimeSupervisorOptions> = {}): RuntimeSupervisor {
  const lines: string[] = [];
  const supervisor = new RuntimeSupervisor({
    modulePath: childModule,
    execArgv: ['--import', 'tsx'],
    restartDelaysMs: [150, 400],
    log: { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) },
    ...options,
  });
  supervisors.push(supervisor);
  return supervisor;
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}


after(() => {
  for (const supervisor of supervisors) supervisor.dispose();
});

describe('runtime supervisor with a real child process', () => {
  test('starts on first request, passes the parent pid and answers typed requests', async () => {
    const supervisor = makeSupervisor();
    assert.equal(supervisor.state, 'stopped');
    const answer = await supervisor.request(testEchoRequest, { text: 'hi' });
    assert.equal(answer.text, 'hi');
    assert.equal(answer.pid, supervisor.pid);
    assert.notEqual(answer.pid, process.pid);
    assert.equal(supervisor.state, 'running');
    const unknown = await rejection(supervisor.request(requestType('test/nothing/here', 5000, record({})), {}));
    assert.equal(unknown.code, 'methodNotFound');
    supervisor.dispose();
  });

  test('a request that gets no answer rejects with a timeout and the process stays usable', async () => {
    const supervisor = makeSupervisor();
    const started = Date.now();
    const error = await rejection(supervisor.request(testHangRequest, {}));
    assert.equal(error.code, 'timeout');
    assert.ok(Date.now() - started >= 290, 'waited for the timeout');
    assert.equal((await supervisor.request(testEchoRequest, { text: 'still here' })).text, 'still here');
    supervisor.dispose();
  });

  test('jobs run one at a time in order, report progress, and can be cancelled queued or running', async () => {
    const supervisor = makeSupervisor();
    const queue = new JobQueue(supervisor);
    const order: string[] = [];
    const sleepJob = (name: string, ms: number) =>
      queue.submit('test', name, async ({ jobId, signal, supervisor: s }) => {
        order.push(`start ${name}`);
        const result = await s.request(testSleepRequest, { jobId, ms }, { signal });
        order.push(`end ${name}`);
        return result;
      });
    const first = sleepJob('first', 300);
    const progress: number[] = [];
    first.onProgress((event) => event.status === 'step' && progress.push(event.step));
    const second = sleepJob('second', 5000);
    const third = sleepJob('third', 100);
    const fourth = sleepJob('fourth', 100);
    assert.deepEqual(queue.jobs.map((j) => j.label), ['first', 'second', 'third', 'fourth']);

    third.cancel();
    assert.equal((await rejection(third.result)).code, 'cancelled');
    await first.result;
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
    await waitFor(() => second.state() === 'running', 5000, 'the second job to start');
    const cancelledAt = Date.now();
    second.cancel();
    assert.equal((await rejection(second.result)).code, 'cancelled');
    assert.ok(Date.now() - cancelledAt < 2000, 'a running job stops promptly');
    await fourth.result;
    assert.deepEqual(order, ['start first', 'end first', 'start second', 'start fourth', 'end fourth']);
    assert.equal(second.state(), 'cancelled');
    queue.dispose();
    supervisor.dispose();
  });

  test('a crash fails only the running job; queued jobs run on the restarted process', async () => {
    const supervisor = makeSupervisor();
    const queue = new JobQueue(supervisor);
    const exits: RuntimeExitEvent[] = [];
    supervisor.onDidExit((event) => exits.push(event));
    const firstPid = (await supervisor.request(testEchoRequest, { text: '' })).pid;
    const crashing = queue.submit('test', 'crash', ({ jobId, supervisor: s }) => s.request(testCrashRequest, { jobId, code: 7, afterMs: 100 }));
    const queued = queue.submit('test', 'after', ({ jobId, supervisor: s }) => s.request(testSleepRequest, { jobId, ms: 50 }));
    const error = await rejection(crashing.result);
    assert.equal(error.code, 'processExited');
    assert.match(error.message, /exited with code 7/);
    assert.match(error.message, /crashing with code 7/, 'the last stderr line explains the crash');
    const after = await queued.result;
    assert.notEqual(after.pid, firstPid, 'ran on a new process');
    assert.equal(exits.length, 1);
    assert.equal(exits[0]!.code, 7);
    assert.equal(exits[0]!.expected, false);
    assert.equal(exits[0]!.restartInMs, 150);
    assert.match(exits[0]!.stderrTail, /crashing with code 7/);
    queue.dispose();
    supervisor.dispose();
  });

  test('every pending request rejects when the process is killed', async () => {
    const supervisor = makeSupervisor();
    await supervisor.request(testEchoRequest, { text: '' });
    const a = supervisor.request(testSleepRequest, { jobId: 'a', ms: 5000 });
    const b = supervisor.request(testSleepRequest, { jobId: 'b', ms: 5000 });
    process.kill(supervisor.pid!, 'SIGKILL');
    for (const error of [await rejection(a), await rejection(b)]) {
      assert.equal(error.code, 'processExited');
      assert.match(error.message, /SIGKILL/);
    }
    supervisor.dispose();
  });

  test('restarts with growing delays, then gives up with an explanation', async () => {
    const supervisor = makeSupervisor({ env: { TEST_CRASH_AT_START: '1' } });
    const starts: number[] = [];
    const exits: number[] = [];
    supervisor.onDidChangeState((state) => state === 'starting' && starts.push(Date.now()));
    supervisor.onDidExit(() => exits.push(Date.now()));
    const error = await rejection(supervisor.request(testEchoRequest, { text: '' }));
    assert.equal(error.code, 'unavailable');
    assert.match(error.message, /crashed 3 times in a row/);
    assert.match(error.message, /failing at start on purpose/);
    assert.match(error.message, /Restart Runtime/);
    assert.equal(supervisor.state, 'failed');
    assert.equal(starts.length, 3, 'two restarts, then stop');
    assert.ok(starts[1]! - exits[0]! >= 140, `first restart waited ${starts[1]! - exits[0]!} ms`);
    assert.ok(starts[2]! - exits[1]! >= 390, `second restart waited ${starts[2]! - exits[1]!} ms`);
    await sleep(600);
    assert.equal(starts.length, 3, 'no restart after giving up');
    // Still refuses at once until the user restarts it.
    assert.equal((await rejection(supervisor.request(testEchoRequest, { text: '' }))).code, 'unavailable');
    supervisor.dispose();
  });

  test('dispose kills the whole process tree and is idempotent', { skip: process.platform === 'win32' }, async () => {
    const supervisor = makeSupervisor();
    const runtimePid = (await supervisor.request(testEchoRequest, { text: '' })).pid;
    const { pid: grandchildPid } = await supervisor.request(testSpawnRequest, {});
    assert.ok(isProcessAlive(grandchildPid));
    const exited = supervisor.whenExited();
    supervisor.dispose();
    supervisor.dispose();
    await exited;
    await waitFor(() => !isProcessAlive(runtimePid) && !isProcessAlive(grandchildPid), 3000, 'the process tree to die');
    assert.equal((await rejection(supervisor.request(testEchoRequest, { text: '' }))).code, 'unavailable');
  });

  test('the runtime exits when its parent dies', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', resolve('test/runtimeTestParent.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    parent.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await waitFor(() => /\d+\n/.test(output), 15000, 'the runtime to start');
    const runtimePid = Number(output.trim());
    assert.ok(isProcessAlive(runtimePid));
    parent.kill('SIGKILL');
    await waitFor(() => !isProcessAlive(runtimePid), 5000, 'the orphaned runtime to exit');
  });

  test('watchParent notices a vanished pid', async () => {
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    let reason: string | undefined;
    const stop = watchParent((r) => (reason = r), { pid: stranger.pid!, intervalMs: 50 });
    await sleep(200);
    assert.equal(reason, undefined);
    stranger.kill('SIGKILL');
    await waitFor(() => reason !== undefined, 3000, 'the watch to fire');
    assert.match(reason!, new RegExp(`${stranger.pid} is gone`));
    stop();
  });
});

test('RuntimeError crosses the wire with its code', () => {
  const error = RuntimeError.fromWire(new RuntimeError('modelMissing', 'no model').toWire());
  assert.ok(isRuntimeError(error, 'modelMissing'));
  assert.equal(RuntimeError.fromWire({ code: 'bogus' as never, message: 'x' }).code, 'internal');
});
