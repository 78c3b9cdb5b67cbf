// The runtime's end of runtime/protocol/runtimeProtocol.ts: checks each request's params with its
// descriptor's validator before any handler runs (one validation point for this boundary), answers
// each request exactly once with a result or a typed error, and aborts a request's signal when the
// host cancels it by request id (`runtime/request/cancel`) or, for a job, by job id.
import {
  cancelJobRequest,
  cancelRequestNotification,
  isWireMessage,
  RuntimeError,
  type NotificationType,
  type RequestType,
  type WireError,
  type WireMessage,
} from '../protocol/runtimeProtocol.ts';
import { formatProblem, validateParams, type Validator } from '../protocol/paramsValidation.ts';

/** The channel to the host: in the runtime process, `process.send` and `process.on('message')`. */
export interface MessagePort {
  send(message: WireMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

export interface RequestContext {
  /** Aborted when the host cancels this request (by its id, or by its job's id). */
  signal: AbortSignal;
  notify<P>(type: NotificationType<P>, params: NoInfer<P>): void;
}

interface Registered {
  validate: Validator<unknown>;
  handle(params: unknown, context: RequestContext): unknown;
}

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
  private readonly handlers = new Map<string, Registered>();
  private readonly notificationHandlers = new Map<string, { validate: Validator<unknown>; handle(params: unknown): void }>();
  private readonly runningJobs = new Map<string, AbortController>();
  /** Every request being answered, by its wire id, so that any of them can be cancelled. */
  private readonly runningRequests = new Map<number, AbortController>();

  constructor(private readonly port: MessagePort) {
    this.onRequest(cancelJobRequest, ({ jobId }) => {
      const controller = this.runningJobs.get(jobId);
      if (!controller) return { cancelled: false };
      controller.abort();
      return { cancelled: true };
    });
    // Too late (already answered) or unknown ids are ignored, as LSP's $/cancelRequest does.
    this.onNotification(cancelRequestNotification, ({ id }) => this.runningRequests.get(id)?.abort());
    port.onMessage((message) => this.dispatch(message));
  }

  onRequest<P, R>(type: RequestType<P, R>, handler: (params: P, context: RequestContext) => R | Promise<R>): void {
    this.handlers.set(type.method, { validate: type.validate, handle: handler as Registered['handle'] });
  }

  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): void {
    this.notificationHandlers.set(type.method, { validate: type.validate, handle: handler as (params: unknown) => void });
  }

  /** How many requests are being answered (cancellable by id). */
  get requestCount(): number {
    return this.runningRequests.size;
  }

  notify<P>(type: NotificationType<P>, params: NoInfer<P>): void {
    this.port.send({ type: 'notification', method: type.method, params });
  }

  get jobCount(): number {
    return this.runningJobs.size;
  }

  private dispatch(message: unknown): void {
    if (!isWireMessage(message)) return;
    if (message.type === 'notification') {
      const registered = this.notificationHandlers.get(message.method);
      // A notification has no answer to carry an error: one that does not validate is dropped.
      if (registered && validateParams(registered.validate, message.params) === undefined) registered.handle(message.params);
      return;
    }
    if (message.type !== 'request') return;
    void this.answer(message.id, message.method, message.params);
  }

  private async answer(id: number, method: string, params: unknown): Promise<void> {
    const registered = this.handlers.get(method);
    if (!registered) {
      this.port.send({ type: 'response', id, error: { code: 'methodNotFound', message: `unknown method ${method}` } });
      return;
    }
    const problem = validateParams(registered.validate, params);
    if (problem) {
      this.port.send({ type: 'response', id, error: { code: 'invalidParams', message: formatProblem(problem), detail: `in the params of ${method}` } });
      return;
    }
    if (this.runningRequests.has(id)) {
      this.port.send({ type: 'response', id, error: { code: 'invalidParams', message: `request ${id} is already being answered` } });
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
    this.runningRequests.set(id, controller);
    const context: RequestContext = {
      signal: controller.signal,
      notify: (type, p) => this.notify(type, p),
    };
    try {
      const result = await registered.handle(params, context);
      this.port.send({ type: 'response', id, result });
    } catch (error) {
      this.port.send({ type: 'response', id, error: toWireError(error) });
    } finally {
      this.runningRequests.delete(id);
      if (jobId !== undefined) this.runningJobs.delete(jobId);
    }
  }
}

function jobIdOf(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const jobId = (params as { jobId?: unknown }).jobId;
  return typeof jobId === 'string' ? jobId : undefined;
}
