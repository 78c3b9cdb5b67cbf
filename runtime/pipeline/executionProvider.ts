// Which ONNX Runtime execution provider runs the model, from the `device` setting. `auto` tries the
// GPU providers first and falls through on any failure, so that a machine without a GPU (or without
// CUDA installed) still generates, and the user is told which provider ran and why the others did not.
import { InferenceSession, listSupportedBackends, Tensor } from 'onnxruntime-node';
import type { DeviceSetting } from '../protocol/generationTypes.ts';
import { buildProbeModel, probeInputName, probeLength, probeOutputName } from './probeModel.ts';

export type ExecutionProviderName = Exclude<DeviceSetting, 'auto'>;

/** Order `auto` tries them in: the fastest first, the CPU (always there) last. */
export const autoProviderOrder: readonly ExecutionProviderName[] = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];

const displayNames: Record<ExecutionProviderName, string> = {
  cpu: 'CPU',
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
  webgpu: 'WebGPU',
};

export function providerDisplayName(provider: ExecutionProviderName): string {
  return displayNames[provider];
}

export function isGpuProvider(provider: ExecutionProviderName): boolean {
  return provider !== 'cpu';
}

export interface BackendInfo {
  name: string;
  bundled: boolean;
}

export interface ProviderAttempt {
  provider: ExecutionProviderName;
  /** 'unavailable': this build of ONNX Runtime has no such provider on this platform. */
  outcome: 'used' | 'unavailable' | 'failed';
  reason?: string;
}

export interface ProviderChoice<T> {
  provider: ExecutionProviderName;
  /** What `open` returned for the provider that worked. */
  value: T;
  attempts: ProviderAttempt[];
  /** One line for the user: which provider ran and why each other one was skipped. */
  note: string;
}

/** An explicitly requested provider cannot run here; the message says what to do instead. */
export class ExecutionProviderError extends Error {
  constructor(
    message: string,
    readonly attempts: ProviderAttempt[],
  ) {
    super(message);
    this.name = 'ExecutionProviderError';
  }
}

/**
 * A failure that would happen on every provider (a broken model file, a failed conversion): `auto`
 * stops at it instead of trying the next provider. The original error is `cause`.
 */
export class ProviderIndependentError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'ProviderIndependentError';
  }
}

/** ONNX Runtime's messages carry the source path and the failed check; keep the human part. */
export function shortenOrtError(error: unknown): string {
  const full = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
  let text = full;
  const check = text.lastIndexOf(' was false. ');
  if (check >= 0) text = text.slice(check + ' was false. '.length);
  text = text.replace(/^\/onnxruntime_src\/\S+ /, '').trim();
  // Nothing left after the check (ORT sometimes ends its message there): the check itself is the reason.
  if (!text || /^[.:\s]*$/.test(text)) text = full.replace(/\/onnxruntime_src\/\S+ /g, '').trim();
  if (!text) text = error instanceof Error ? `${error.name} without a message` : 'no reason given';
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

function failureHint(provider: ExecutionProviderName, backend: BackendInfo | undefined, reason: string): string {
  if (provider === 'cuda' && backend && !backend.bundled && /load shared library|cannot open shared object/i.test(reason)) {
    return 'CUDA provider not installed (onnxruntime-node downloads it at install time; it needs CUDA 12 and cuDNN 9)';
  }
  return reason;
}

function describe(attempt: ProviderAttempt): string {
  const name = providerDisplayName(attempt.provider);
  if (attempt.outcome === 'unavailable') return `${name} not bundled for ${process.platform}-${process.arch}`;
  return `${name} failed: ${attempt.reason}`;
}

export function sessionOptionsFor(provider: ExecutionProviderName): InferenceSession.SessionOptions {
  return { executionProviders: [provider], logSeverityLevel: 3 };
}

/** Creates and runs a tiny session on the provider; throws with ONNX Runtime's reason when it cannot. */
export async function probeProvider(provider: ExecutionProviderName): Promise<void> {
  // Severity 4 (fatal only): an expected failure should not print ONNX Runtime's error log.
  const session = await InferenceSession.create(buildProbeModel(), { executionProviders: [provider], logSeverityLevel: 4 });
  try {
    const input = new Tensor('float32', new Float32Array(probeLength).fill(1.5), [probeLength]);
    const output = await session.run({ [probeInputName]: input });
    const data = output[probeOutputName].data as Float32Array;
    if (data[0] !== 3) throw new Error(`probe graph computed ${data[0]} instead of 3`);
  } finally {
    await session.release();
  }
}

function explicitFailureMessage(provider: ExecutionProviderName, attempt: ProviderAttempt): string {
  const name = providerDisplayName(provider);
  const why = attempt.outcome === 'unavailable' ? `it is not bundled with ONNX Runtime for ${process.platform}-${process.arch}` : attempt.reason;
  const advice: Record<ExecutionProviderName, string> = {
    cuda: 'install CUDA 12 and cuDNN 9 (and reinstall without ONNXRUNTIME_NODE_INSTALL=skip), or',
    dml: 'DirectML needs Windows 10+ with a DirectX 12 GPU;',
    coreml: 'CoreML needs macOS;',
    webgpu: 'WebGPU needs a GPU driver with Vulkan (Linux), Direct3D 12 (Windows) or Metal (macOS);',
    cpu: '',
  };
  if (provider === 'cpu' && attempt.outcome === 'failed') {
    // The CPU provider is always there: a failure on it is the model's, not the provider's.
    return `the model could not be loaded on the CPU: ${why}`;
  }
  return `the ${name} execution provider cannot be used: ${why}. ${advice[provider]} set the device to "auto" (tries every provider) or "cpu"`.replace(
    /\s+/g,
    ' ',
  );
}

/**
 * Picks the provider for `device` by calling `open` (which creates real sessions) on each candidate
 * in turn; `auto` falls through to the next one when `open` throws. `backends` is ONNX Runtime's
 * own list unless a test passes another.
 */
export async function chooseExecutionProvider<T>(
  device: DeviceSetting,
  open: (provider: ExecutionProviderName) => Promise<T>,
  backends: readonly BackendInfo[] = listSupportedBackends(),
): Promise<ProviderChoice<T>> {
  const candidates = device === 'auto' ? autoProviderOrder : [device];
  const attempts: ProviderAttempt[] = [];
  for (const provider of candidates) {
    const backend = backends.find((b) => b.name === provider);
    if (!backend) {
      attempts.push({ provider, outcome: 'unavailable' });
      continue;
    }
    try {
      const value = await open(provider);
      attempts.push({ provider, outcome: 'used' });
      const skipped = attempts.filter((a) => a.outcome !== 'used').map(describe);
      const why = device === 'auto' ? (skipped.length ? ` (auto: ${skipped.join('; ')})` : ' (auto)') : ' (as set)';
      return { provider, value, attempts, note: `Running on ${providerDisplayName(provider)}${why}` };
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') throw error;
      if (error instanceof ProviderIndependentError) throw error.cause;
      attempts.push({ provider, outcome: 'failed', reason: failureHint(provider, backend, shortenOrtError(error)) });
    }
  }
  if (device !== 'auto') throw new ExecutionProviderError(explicitFailureMessage(device, attempts[0]), attempts);
  throw new ExecutionProviderError(`no execution provider could run the model: ${attempts.map(describe).join('; ')}`, attempts);
}
