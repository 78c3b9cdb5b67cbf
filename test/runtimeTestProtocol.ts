// Request descriptors only the supervisor's integration tests use (see runtimeTestChild.ts); they
// carry validators like the real ones, so the server's check runs for them too.
import { requestType, type RequestType } from '../runtime/protocol/runtimeProtocol.ts';
import { numberIn, optional, record, text, type Validator } from '../runtime/protocol/paramsValidation.ts';

function request<P, R>(method: string, validate: Validator<P>, timeoutMs = 10_000): RequestType<P, R> {
  return requestType<P, R>(method, timeoutMs, validate);
}

const milliseconds = numberIn({ min: 0, max: 600_000, integer: true });
const exitCode = numberIn({ min: 0, max: 255, integer: true });

export const testEchoRequest = request<{ text: string }, { text: string; pid: number }>('test/echo/run', record({ text: text({ limit: { maxChars: 100 } }) }));
export const testSleepRequest = request<{ jobId?: string; ms: number }, { slept: number; pid: number }>(
  'test/sleep/run',
  record({ jobId: optional(text({ nonBlank: true })), ms: milliseconds }),
);
export const testCrashRequest = request<{ jobId?: string; code: number; afterMs: number }, never>(
  'test/process/crash',
  record({ jobId: optional(text()), code: exitCode, afterMs: milliseconds }),
);
export const testHangRequest = request<Record<string, never>, never>('test/process/hang', record({}), 300);
export const testSpawnRequest = request<Record<string, never>, { pid: number }>('test/grandchild/spawn', record({}));
