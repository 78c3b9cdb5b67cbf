// Runtime jobs, one at a time in submission order (one model, one GPU): each can be cancelled
// while queued or running and reports the runtime's progress events. A crash of the runtime fails
// only the running job; the queued ones run on the restarted process. Used by the commands and the
// gallery panel alike.
import { randomUUID } from 'node:crypto';
import type { ProgressEvent } from '../../runtime/protocol/generationTypes.ts';
import {
  drawTextRequest,
  fixTextRequest,
  generateImageRequest,
  jobProgressNotification,
  resolveModelRequest,
  RuntimeError,
  type DrawTextParams,
  type DrawTextResult,
  type FixTextParams,
  type FixTextResult,
  type GenerateImageParams,
  type GenerateImageResult,
  type ResolveModelParams,
  type ResolveModelResult,
} from '../../runtime/protocol/runtimeProtocol.ts';
import { Emitter, type Disposable, type Event } from './emitter.ts';
import type { RuntimeSupervisor } from './runtimeSupervisor.ts';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobInfo {
  readonly id: string;
  readonly kind: string;
  readonly label: string;
  readonly state: JobState;
  readonly lastProgress?: ProgressEvent;
}

export interface JobContext {
  jobId: string;
  signal: AbortSignal;
  supervisor: RuntimeSupervisor;
}

export interface JobHandle<R> {
  readonly id: string;
  readonly result: Promise<R>;
  readonly onProgress: Event<ProgressEvent>;
  state(): JobState;
  cancel(): void;
}

interface JobEntry {
  info: { id: string; kind: string; label: string; state: JobState; lastProgress?: ProgressEvent };
  controller: AbortController;
  progress: Emitter<ProgressEvent>;
  run(context: JobContext): Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class JobQueue implements Disposable {
  private readonly entries: JobEntry[] = [];
  private running: JobEntry | undefined;
  private readonly changeEmitter = new Emitter<readonly JobInfo[]>();
  private readonly progressEmitter = new Emitter<{ jobId: string; event: ProgressEvent }>();
  private readonly subscription: Disposable;
  private disposed = false;
  /** Fires with the queued and running jobs whenever one is added, starts, ends or reports progress. */
  readonly onDidChange = this.changeEmitter.event;
  readonly onProgress = this.progressEmitter.event;

  constructor(private readonly supervisor: RuntimeSupervisor) {
    this.subscription = supervisor.onNotification(jobProgressNotification, ({ jobId, event }) => {
      const entry = this.running?.info.id === jobId ? this.running : this.entries.find((e) => e.info.id === jobId);
      if (!entry) return;
      entry.info.lastProgress = event;
      entry.progress.fire(event);
      this.progressEmitter.fire({ jobId, event });
      this.changeEmitter.fire(this.jobs);
    });
  }

  /** Queued and running jobs, running first. */
  get jobs(): readonly JobInfo[] {
    const list = this.running ? [this.running, ...this.entries] : [...this.entries];
    return list.map((e) => ({ ...e.info }));
  }

  /** Queues `run`; `id` lets a caller that announced the job before queueing it (jobs/jobFlow.ts) keep its id. */
  submit<R>(kind: string, label: string, run: (context: JobContext) => Promise<R>, id: string = randomUUID()): JobHandle<R> {
    if (this.disposed) throw new RuntimeError('unavailable', 'Letterpress is shutting down.');
    if (this.running?.info.id === id || this.entries.some((e) => e.info.id === id)) throw new Error(`job ${id} is already queued`);
    let resolve!: (value: unknown) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<R>((res, rej) => {
      resolve = res as (value: unknown) => void;
      reject = rej;
    });
    const entry: JobEntry = {
      info: { id, kind, label, state: 'queued' },
      controller: new AbortController(),
      progress: new Emitter<ProgressEvent>(),
      run,
      resolve,
      reject,
    };
    this.entries.push(entry);
    this.changeEmitter.fire(this.jobs);
    queueMicrotask(() => this.pump());
    return {
      id: entry.info.id,
      result,
      onProgress: entry.progress.event,
      state: () => entry.info.state,
      cancel: () => this.cancel(entry.info.id),
    };
  }

  generate(label: string, params: Omit<GenerateImageParams, 'jobId'>, id?: string): JobHandle<GenerateImageResult> {
    return this.submit(
      'generate',
      label,
      ({ jobId, signal, supervisor }) => supervisor.request(generateImageRequest, { ...params, jobId }, { signal }),
      id,
    );
  }

  /** Draws exact text on an existing image: queued like generation, since it shares the runtime's OCR worker. */
  drawText(label: string, params: Omit<DrawTextParams, 'jobId'>, id?: string): JobHandle<DrawTextResult> {
    return this.submit('drawText', label, ({ jobId, signal, supervisor }) => supervisor.request(drawTextRequest, { ...params, jobId }, { signal }), id);
  }

  /** Fixes the text of an existing image with the model (inpainting), the plate as its fallback. */
  fixText(label: string, params: Omit<FixTextParams, 'jobId'>, id?: string): JobHandle<FixTextResult> {
    return this.submit('fixText', label, ({ jobId, signal, supervisor }) => supervisor.request(fixTextRequest, { ...params, jobId }, { signal }), id);
  }

  resolveModel(label: string, params: Omit<ResolveModelParams, 'jobId'>): JobHandle<ResolveModelResult> {
    return this.submit('model', label, ({ jobId, signal, supervisor }) =>
      supervisor.request(resolveModelRequest, { ...params, jobId }, { signal }),
    );
  }

  /** Cancels a queued job at once, or asks the runtime to stop a running one. */
  cancel(jobId: string): boolean {
    const index = this.entries.findIndex((e) => e.info.id === jobId);
    if (index >= 0) {
      const [entry] = this.entries.splice(index, 1);
      this.finish(entry!, 'cancelled', new RuntimeError('cancelled', 'Cancelled.'));
      return true;
    }
    if (this.running?.info.id === jobId) {
      this.running.controller.abort();
      return true;
    }
    return false;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.subscription.dispose();
    for (const entry of this.entries.splice(0)) this.finish(entry, 'cancelled', new RuntimeError('cancelled', 'Letterpress is shutting down.'));
    this.running?.controller.abort();
    this.changeEmitter.dispose();
    this.progressEmitter.dispose();
  }

  private pump(): void {
    if (this.running || this.disposed) return;
    const entry = this.entries.shift();
    if (!entry) return;
    this.running = entry;
    entry.info.state = 'running';
    this.changeEmitter.fire(this.jobs);
    entry
      .run({ jobId: entry.info.id, signal: entry.controller.signal, supervisor: this.supervisor })
      .then(
        (value) => this.finish(entry, 'succeeded', undefined, value),
        (error: unknown) => {
          const cancelled = entry.controller.signal.aborted || (error instanceof RuntimeError && error.code === 'cancelled');
          this.finish(entry, cancelled ? 'cancelled' : 'failed', error);
        },
      )
      .finally(() => {
        if (this.running === entry) this.running = undefined;
        if (!this.disposed) this.changeEmitter.fire(this.jobs);
        this.pump();
      });
  }

  private finish(entry: JobEntry, state: JobState, error?: unknown, value?: unknown): void {
    entry.info.state = state;
    if (state === 'succeeded') entry.resolve(value);
    else entry.reject(error);
    entry.progress.dispose();
    if (this.running !== entry && !this.disposed) this.changeEmitter.fire(this.jobs);
  }
}
