// The runtime's end of runtime/protocol/runtimeProtocol.ts: dispatches requests to handlers, answers each one
// exactly once with a result or a typed error, and aborts a job's signal when the host cancels it.
import {
  cancelJobRequest,
  isWireMessage,
  RuntimeError,
  type NotificationType,
  type RequestType,
  type WireError,
  type WireMessage,
} from '../protocol/runtimeProtocol.ts';

/** The channel to the host: in the runtime process, `process.send` and `process.on('message')`. */
export interface MessagePort {
  send(message: WireMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

export interface RequestContext {
  /** Aborted when the host cancels this request's job. */
  signal: AbortSignal;
  notify<P>(type: NotificationType<P>, params: P): void;
}

type Handler = (params: unknown, context: RequestContext) => unknown;

export function processPort(): MessagePort {
  if (!process.send) throw new Error('the runtime must be started with an IPC channel (child_process.fork)');
  return {
    send: (message) => {
      // The host may already be gone; the parent watch ends this process shortly.
      if (process.connected) process.send!(message);
    },
    onMessage: (listener) => process.on('message', listener),
  };
}

const builtinErrorNames = new Set(['Error', 'TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError', 'AggregateError']);

export function toWireError(error: unknown): WireError {
  if (error instanceof RuntimeError) return error.toWire();
  if (error instanceof Error && error.name === 'AbortError') return { code: 'cancelled', message: 'Cancelled.' };
  if (error instanceof Error) {
    // Our modules' own error classes (ClipTokenizerError, SafetensorsError…) are thrown on purpose
    // with a message for the user; the built-in ones mean a bug. Keep the stack for the log.
    const code = builtinErrorNames.has(error.name) ? 'internal' : 'userError';
    return { code, message: error.message, detail: error.stack };
  }
  return { code: 'internal', message: String(error) };
}

export class RuntimeServer {
  private readonly handlers = new Map<string, Handler>();
  private readonly notificationHandlers = new Map<string, (params: unknown) => void>();
  private readonly runningJobs = new Map<string, AbortController>();

  constructor(private readonly port: MessagePort) {
    this.onRequest(cancelJobRequest, ({ jobId }) => {
      const controller = this.runningJobs.get(jobId);
      if (!controller) return { cancelled: false };
      controller.abort();
      return { cancelled: true };
    });
    port.onMessage((message) => this.dispatch(message));
  }

  onRequest<P, R>(type: RequestType<P, R>, handler: (params: P, context: RequestContext) => R | Promise<R>): void {
    this.handlers.set(type.method, handler as Handler);
  }

  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): void {
    this.notificationHandlers.set(type.method, handler as (params: unknown) => void);
  }

  notify<P>(type: NotificationType<P>, params: P): void {
    this.port.send({ type: 'notification', method: type.method, params });
  }

  get jobCount(): number {
    return this.runningJobs.size;
  }

  private dispatch(message: unknown): void {
    if (!isWireMessage(message)) return;
    if (message.type === 'notification') {
      this.notificationHandlers.get(message.method)?.(message.params);
      return;
    }
    if (message.type !== 'request') return;
    void this.answer(message.id, message.method, message.params);
  }

  private async answer(id: number, method: string, params: unknown): Promise<void> {
    const handler = this.handlers.get(method);
    if (!handler) {
      this.port.send({ type: 'response', id, error: { code: 'methodNotFound', message: `unknown method ${method}` } });
      return;
    }
    const jobId = method === cancelJobRequest.method ? undefined : jobIdOf(params);
    const controller = new AbortController();
    if (jobId !== undefined) {
      if (this.runningJobs.has(jobId)) {
        this.port.send({ type: 'response', id, error: { code: 'invalidParams', message: `job ${jobId} is already running` } });
        return;
      }
      this.runningJobs.set(jobId, controller);
    }
    const context: RequestContext = {
      signal: controller.signal,
      notify: (type, p) => this.notify(type, p),
    };
    try {
      const result = await handler(params, context);
      this.port.send({ type: 'response', id, result });
    } catch (error) {
      this.port.send({ type: 'response', id, error: toWireError(error) });
    } finally {
      if (jobId !== undefined) this.runningJobs.delete(jobId);
    }
  }
}

function jobIdOf(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const jobId = (params as { jobId?: unknown }).jobId;
  return typeof jobId === 'string' ? jobId : undefined;
}
