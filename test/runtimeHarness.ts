// The real runtime entry point (runtime/process/runtimeMain.ts, through tsx) under the host's supervisor and
// job queue, with a scratch copy of the tiny model (the converter caches its graphs beside a model,
// so tests never convert into the fixture folder). Registers its own before/after hooks.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { JobQueue } from '../extension/runtime/jobQueue.ts';
import { RuntimeSupervisor } from '../extension/runtime/runtimeSupervisor.ts';
import type { GenerateOptions } from '../runtime/protocol/generationTypes.ts';
import { tinyModelDir } from './fixturePaths.ts';

export interface RuntimeHarness {
  readonly supervisor: RuntimeSupervisor;
  readonly queue: JobQueue;
  /** Set once the `before` hook has run. */
  scratch: string;
  modelDir: string;
}

/** A small, quick job on the harness's model: a quoted sign at 192², two steps, on the CPU. */
export function signJobOptions(harness: RuntimeHarness, overrides: Partial<GenerateOptions> = {}): GenerateOptions {
  return {
    modelDir: harness.modelDir,
    prompt: 'a neon sign that says "OPEN 24/7"',
    steps: 2,
    guidanceScale: 7.5,
    width: 192,
    height: 192,
    seed: 500,
    numImages: 1,
    device: 'cpu',
    ...overrides,
  };
}

export function useRuntimeHarness(prefix: string, cleanup?: () => Promise<void>): RuntimeHarness {
  const supervisor = new RuntimeSupervisor({ modulePath: resolve('runtime/process/runtimeMain.ts'), execArgv: ['--import', 'tsx'] });
  const harness: RuntimeHarness = { supervisor, queue: new JobQueue(supervisor), scratch: '', modelDir: '' };
  before(async () => {
    harness.scratch = await mkdtemp(join(tmpdir(), prefix));
    harness.modelDir = join(harness.scratch, 'tiny-sd2');
    await cp(tinyModelDir, harness.modelDir, { recursive: true });
  });
  after(async () => {
    harness.queue.dispose();
    supervisor.dispose();
    await supervisor.whenExited();
    await cleanup?.();
    await rm(harness.scratch, { recursive: true, force: true });
  });
  return harness;
}
