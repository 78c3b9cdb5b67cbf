// One measurement in its own process, so that its peak memory (maxRSS) is its own: either the
// conversion of one component, or loading one converted graph and timing runs of it.
// Prints one JSON line on stdout. Started by bench/runBench.ts.
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ensureConvertedComponent } from '../runtime/onnx/convertModel.ts';
import { sessionOptionsFor, type ExecutionProviderName } from '../runtime/pipeline/executionProvider.ts';

type Component = 'text_encoder' | 'unet' | 'vae_decoder';

interface ChildRequest {
  mode: 'convert' | 'run';
  modelDir: string;
  component: Component;
  fp16: boolean;
  provider?: ExecutionProviderName;
  runs?: number;
  /** For 'run': hidden size of the text encoder, latent size of the image. */
  hidden?: number;
  latentSize?: number;
}

function maxRssMiB(): number {
  // resourceUsage().maxRSS is in kibibytes.
  return process.resourceUsage().maxRSS / 1024;
}

function randomFloats(n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

function inputsFor(request: ChildRequest): Record<string, Tensor> {
  const latent = request.latentSize ?? 64;
  const hidden = request.hidden ?? 1024;
  if (request.component === 'text_encoder') {
    // The pipeline's batch: [negative prompt, prompt].
    const ids = new BigInt64Array(2 * 77);
    for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * 7919) % 49407);
    return { input_ids: new Tensor('int64', ids, [2, 77]) };
  }
  if (request.component === 'unet') {
    return {
      sample: new Tensor('float32', randomFloats(2 * 4 * latent * latent, 1), [2, 4, latent, latent]),
      timestep: new Tensor('float32', new Float32Array([500, 500]), [2]),
      encoder_hidden_states: new Tensor('float32', randomFloats(2 * 77 * hidden, 1), [2, 77, hidden]),
    };
  }
  return { latent_sample: new Tensor('float32', randomFloats(4 * latent * latent, 1), [1, 4, latent, latent]) };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as ChildRequest;
  if (request.mode === 'convert') {
    const t0 = performance.now();
    const result = await ensureConvertedComponent(request.modelDir, request.component, { fp16: request.fp16 });
    process.stdout.write(
      `${JSON.stringify({ ms: performance.now() - t0, maxRssMiB: maxRssMiB(), onnxPath: result.onnxPath, fromCache: result.fromCache, notes: result.notes })}\n`,
    );
    return;
  }
  const { onnxPath } = await ensureConvertedComponent(request.modelDir, request.component, { fp16: request.fp16 });
  const t0 = performance.now();
  const session = await InferenceSession.create(onnxPath, sessionOptionsFor(request.provider ?? 'cpu'));
  const loadMs = performance.now() - t0;
  const feeds = inputsFor(request);
  const runMs: number[] = [];
  for (let i = 0; i < (request.runs ?? 1); i++) {
    const t = performance.now();
    const out = await session.run(feeds);
    runMs.push(performance.now() - t);
    const first = Object.values(out)[0].data as Float32Array;
    if (!Number.isFinite(first[0])) throw new Error(`${request.component} produced ${first[0]}`);
  }
  await session.release();
  process.stdout.write(`${JSON.stringify({ loadMs, runMs, maxRssMiB: maxRssMiB() })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
