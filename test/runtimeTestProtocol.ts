// Request descriptors only the supervisor's integration tests use (see runtimeTestChild.ts).
import type { RequestType } from '../runtime/protocol/runtimeProtocol.ts';

function request<P, R>(method: string, timeoutMs = 10_000): RequestType<P, R> {
  return { kind: 'request', method, timeoutMs };
}

export const testEchoRequest = request<{ text: string }, { text: string; pid: number }>('test/echo/run');
export const testSleepRequest = request<{ jobId: string; ms: number }, { slept: number; pid: number }>('test/sleep/run');
export const testCrashRequest = request<{ jobId?: string; code: number; afterMs: number }, never>('test/process/crash');
export const testHangRequest = request<Record<string, never>, never>('test/process/hang', 300);
export const testSpawnRequest = request<Record<string, never>, { pid: number }>('test/grandchild/spawn');
