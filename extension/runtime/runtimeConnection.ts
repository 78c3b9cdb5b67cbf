// The host's end of runtime/protocol/runtimeProtocol.ts over one child process: numbered requests with timeouts,
// typed errors, notifications by method, and every pending request rejected when the child exits.
import type { ChildProcess } from 'node:child_process';
import {
  cancelJobRequest,
  cancelRequestNotification,
  isWireMessage,
  RuntimeError,
  type NotificationType,
  type RequestType,
  type WireMessage,
} from '../../runtime/protocol/runtimeProtocol.ts';
import { isValid } from '../../runtime/protocol/paramsValidation.ts';
import { Emitter, type Disposable } from './emitter.ts';

export interface RequestOptions {
  /** Overrides the descriptor's timeout. */
  timeoutMs?: number;
  /** Aborting rejects the request with `cancelled` and asks the runtime to cancel it (by request id). */
  signal?: AbortSignal;
}

interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(error: RuntimeError): void;
  cleanup(): void;
}

export class RuntimeConnection implements Disposable {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly notificationEmitters = new Map<string, Emitter<unknown>>();
  private closedError: RuntimeError | undefined;
  private readonly anyNotification = new Emitter<{ method: string; params: unknown }>();
  /** Every notification, whatever its method (the supervisor forwards them across restarts). */
  readonly onAnyNotification = this.anyNotification.event;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (message) => this.dispatch(message));
  }

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  sendRequest<P, R>(type: RequestType<P, R>, params: NoInfer<P>, options: RequestOptions = {}): Promise<R> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (options.signal?.aborted) return Promise.reject(new RuntimeError('cancelled', 'Cancelled.'));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? type.timeoutMs;
      const timer = setTimeout(() => {
        this.settle(id, new RuntimeError('timeout', `The runtime did not answer ${type.method} within ${formatDuration(timeoutMs)}.`));
        // The runtime may still be working on it: free it for the next job.
        this.cancelRequest(id);
      }, timeoutMs);
      const onAbort = (): void => {
        this.settle(id, new RuntimeError('cancelled', 'Cancelled.'));
        this.cancelRequest(id);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        method: type.method,
        resolve: resolve as (value: unknown) => void,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      });
      this.post({ type: 'request', id, method: type.method, params });
    });
  }

  sendNotification<P>(type: NotificationType<P>, params: NoInfer<P>): void {
    if (!this.closedError) this.post({ type: 'notification', method: type.method, params });
  }

  onNotification<P>(type: NotificationType<P>, listener: (params: P) => void): Disposable {
    return listenValidated(this.notificationEmitters, type, listener);
  }

  /** Rejects everything pending with `error` (the child exited); later requests reject at once. */
  close(error: RuntimeError): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const id of [...this.pending.keys()]) this.settle(id, error);
  }

  dispose(): void {
    this.close(new RuntimeError('processExited', 'The Letterpress runtime was stopped.'));
    for (const emitter of this.notificationEmitters.values()) emitter.dispose();
    this.anyNotification.dispose();
  }

  /** Best effort, without an answer: if the runtime is gone or already answered there is nothing left to cancel. */
  private cancelRequest(id: number): void {
    this.sendNotification(cancelRequestNotification, { id });
  }

  /** Asks the runtime to stop the job with this id, whichever request runs it. */
  cancelJob(jobId: string): Promise<boolean> {
    return this.sendRequest(cancelJobRequest, { jobId }).then(
      (answer) => answer.cancelled,
      () => false,
    );
  }

  private post(message: WireMessage): void {
    const failed = (error: Error): void => {
      if (message.type !== 'request') return;
      // Usually the process is dying: its exit rejects the request with the real reason (exit code,
      // signal, stderr). Only if that does not come soon is the write error the best we know.
      setTimeout(() => this.settle(message.id, new RuntimeError('processExited', `Could not reach the Letterpress runtime: ${error.message}`)), 2000).unref();
    };
    try {
      this.child.send(message, (error) => {
        if (error) failed(error);
      });
    } catch (error) {
      failed(error as Error);
    }
  }

  private settle(id: number, error: RuntimeError | undefined, result?: unknown): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    pending.cleanup();
    if (error) pending.reject(error);
    else pending.resolve(result);
  }

  private dispatch(message: unknown): void {
    if (!isWireMessage(message)) return;
    if (message.type === 'response') {
      this.settle(message.id, message.error ? RuntimeError.fromWire(message.error) : undefined, message.result);
    } else if (message.type === 'notification') {
      this.notificationEmitters.get(message.method)?.fire(message.params);
      this.anyNotification.fire({ method: message.method, params: message.params });
    }
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/**
 * Subscribes `listener` to `type`'s notifications through a per-method emitter kept in `emitters`.
 * The runtime is ours, but a version skew must not reach the listeners: drop what does not validate.
 */
export function listenValidated<P>(emitters: Map<string, Emitter<unknown>>, type: NotificationType<P>, listener: (params: P) => void): Disposable {
  let emitter = emitters.get(type.method);
  if (!emitter) {
    emitter = new Emitter<unknown>();
    emitters.set(type.method, emitter);
  }
  return emitter.event((value) => {
    if (isValid(type.validate, value)) listener(value);
  });
}
