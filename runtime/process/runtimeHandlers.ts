// What the runtime process does for each request of runtime/protocol/runtimeProtocol.ts. The heavy modules come in
// through `RuntimeServices` (runtimeMain.ts passes the real ones), which keeps this file testable.
import type { GenerateOptions, ProgressListener } from '../protocol/generationTypes.ts';
import {
  configureRequest,
  countTokensRequest,
  listCacheRequest,
  removeCacheRequest,
  drawTextRequest,
  fixTextRequest,
  exportImageRequest,
  inspectImageRequest,
  generateImageRequest,
  jobProgressNotification,
  planModelRequest,
  resolveModelRequest,
  RuntimeError,
  logNotification,
  unloadModelRequest,
  type GenerateImageResult,
  type ModelDownloadPlan,
  type PlanModelParams,
  type ResolveModelParams,
  type ResolveModelResult,
} from '../protocol/runtimeProtocol.ts';
import type { RuntimeServer } from './runtimeServer.ts';
import { listCachedGraphs, removeCachedGraphs } from '../graphCache/graphCache.ts';
import { runDrawTextJob } from '../jobs/drawTextJob.ts';
import { runFixTextJob } from '../jobs/fixTextJob.ts';
import { runExportImageJob } from '../jobs/exportImageJob.ts';
import { encodedImageSize, readImageBytes } from '../pipeline/startImage.ts';
import { runGenerateImageJob, type ImageGeneratorLike } from '../jobs/generateImageJob.ts';
import type { OcrReader } from '../legibility/ocrReader.ts';

export interface RuntimeServices {
  createGenerator(options: { idleUnloadMs?: number }): ImageGeneratorLike;
  planModel(options: PlanModelParams & { signal?: AbortSignal }): Promise<ModelDownloadPlan>;
  resolveModel(
    options: Omit<ResolveModelParams, 'jobId'> & { onProgress?: ProgressListener; signal?: AbortSignal },
  ): Promise<ResolveModelResult>;
  loadTokenizer(modelDir: string): Promise<{ maxLength: number; countContentTokens(text: string): number }>;
  createOcrReader(): OcrReader;
}

/**
 * The setting's 0 means "keep the model loaded"; for ImageGenerator 0 means "release after every job"
 * and undefined its own default, so translate rather than pass it through.
 */
export function generatorIdleUnloadMs(settingMs: number): number {
  return settingMs > 0 ? settingMs : Number.POSITIVE_INFINITY;
}

export function registerRuntimeHandlers(server: RuntimeServer, services: RuntimeServices): { dispose(): Promise<void> } {
  let idleUnloadMs = 10 * 60_000;
  let generator: ImageGeneratorLike | undefined;
  // The runtime's one queue: every job (generation, drawing) and every change to the loaded model runs
  // after the previous one has settled, in the order the host sent them. It is the queue of record on
  // this side because it sees whole jobs: a best-of-N job's several generator calls and its OCR as one,
  // and a drawing, which never touches the generator. A cancelled job may still be finishing its step
  // when the next arrives; this is what makes the next one wait. The generator has no queue of its own.
  let jobChain: Promise<unknown> = Promise.resolve();
  const tokenizers = new Map<string, ReturnType<RuntimeServices['loadTokenizer']>>();
  // One OCR worker kept warm between jobs (starting one costs about half a second), released with
  // the model when the runtime has been idle.
  let ocr: OcrReader | undefined;
  let ocrIdleTimer: NodeJS.Timeout | undefined;
  const releaseOcr = async () => {
    clearTimeout(ocrIdleTimer);
    const reader = ocr;
    ocr = undefined;
    await reader?.close();
  };

  /** Runs `run` once every job and model change before it has settled. */
  const queued = <T>(run: () => Promise<T>): Promise<T> => {
    const job = jobChain.then(run, run);
    jobChain = job.catch(() => {});
    return job;
  };

  server.onRequest(configureRequest, async (params) => {
    if (params.idleUnloadMs !== idleUnloadMs && generator) {
      const old = generator;
      generator = undefined;
      // Not under a running job's feet: after it.
      await queued(() => old.dispose());
    }
    idleUnloadMs = params.idleUnloadMs;
    return { pid: process.pid, nodeVersion: process.version };
  });

  /** Keeps the OCR worker from idling out during a job and arms its release for after it. */
  const withOcrKept = async <T>(useOcr: boolean, run: () => Promise<T>): Promise<T> => {
    clearTimeout(ocrIdleTimer);
    if (useOcr) ocr ??= services.createOcrReader();
    try {
      return await run();
    } finally {
      if (ocr) {
        const idle = generatorIdleUnloadMs(idleUnloadMs);
        if (Number.isFinite(idle)) {
          ocrIdleTimer = setTimeout(() => void releaseOcr(), idle);
          ocrIdleTimer.unref();
        }
      }
    }
  };

  server.onRequest(generateImageRequest, (params, { signal, notify }) =>
    queued(async (): Promise<GenerateImageResult> => {
      if (signal.aborted) throw new RuntimeError('cancelled', 'Cancelled.');
      generator ??= services.createGenerator({ idleUnloadMs: generatorIdleUnloadMs(idleUnloadMs) });
      const current = generator;
      return withOcrKept(params.legibility !== undefined, () =>
        runGenerateImageJob(current, params, {
          signal,
          onProgress: (event) => notify(jobProgressNotification, { jobId: params.jobId, event }),
          log: (text) => notify(logNotification, { level: 'info', text }),
          reader: params.legibility ? ocr : undefined,
        }),
      );
    }),
  );

  server.onRequest(drawTextRequest, (params, { signal, notify }) =>
    queued(async () => {
      if (signal.aborted) throw new RuntimeError('cancelled', 'Cancelled.');
      return withOcrKept(true, () =>
        runDrawTextJob(ocr!, params, {
          signal,
          onProgress: (event) => notify(jobProgressNotification, { jobId: params.jobId, event }),
          log: (text) => notify(logNotification, { level: 'info', text }),
        }),
      );
    }),
  );

  // Fix text with the model: generation and OCR, so it waits its turn like a generation job.
  server.onRequest(fixTextRequest, (params, { signal, notify }) =>
    queued(async () => {
      if (signal.aborted) throw new RuntimeError('cancelled', 'Cancelled.');
      if (params.model) generator ??= services.createGenerator({ idleUnloadMs: generatorIdleUnloadMs(idleUnloadMs) });
      const current = params.model ? generator : undefined;
      return withOcrKept(true, () =>
        runFixTextJob(current, ocr!, params, {
          signal,
          onProgress: (event) => notify(jobProgressNotification, { jobId: params.jobId, event }),
          log: (text) => notify(logNotification, { level: 'info', text }),
        }),
      );
    }),
  );

  // Not on the job queue: an export uses neither the model nor OCR, so it need not wait for a generation.
  server.onRequest(exportImageRequest, (params, { signal, notify }) =>
    runExportImageJob(params, { signal, onProgress: (event) => notify(jobProgressNotification, { jobId: params.jobId, event }) }),
  );

  // Bounded like every start image read (file size, then pixels from the header); a GenerationError is a userError.
  server.onRequest(inspectImageRequest, async ({ path }) => encodedImageSize(await readImageBytes(path), path));

  server.onRequest(planModelRequest, (params, { signal }) => services.planModel({ ...params, signal }));

  server.onRequest(resolveModelRequest, async (params, { signal, notify }) => {
    const { jobId, ...options } = params;
    try {
      return await services.resolveModel({
        ...options,
        signal,
        onProgress: (event) => notify(jobProgressNotification, { jobId, event }),
      });
    } catch (error) {
      // Only "not in the cache" means missing; a broken local folder keeps its own message.
      if (params.offline && (error as { code?: unknown }).code === 'not-cached') {
        throw new RuntimeError('modelMissing', (error as Error).message);
      }
      throw error;
    }
  });

  server.onRequest(countTokensRequest, async ({ modelDir, text }) => {
    let tokenizer = tokenizers.get(modelDir);
    if (!tokenizer) {
      tokenizer = services.loadTokenizer(modelDir);
      tokenizers.set(modelDir, tokenizer);
      tokenizer.catch(() => tokenizers.delete(modelDir));
    }
    const loaded = await tokenizer;
    return { count: loaded.countContentTokens(text), limit: loaded.maxLength - 2 };
  });

  server.onRequest(listCacheRequest, () => listCachedGraphs());

  // After any running generation (it may be using these graphs), with the model unloaded so no
  // session holds a file open (Windows refuses to delete those).
  server.onRequest(removeCacheRequest, (params) =>
    queued(async () => {
      await generator?.unload();
      return removeCachedGraphs(params.ids);
    }),
  );

  server.onRequest(unloadModelRequest, () =>
    queued(async () => {
      await releaseOcr();
      if (!generator) return { unloaded: false };
      await generator.unload();
      return { unloaded: true };
    }),
  );

  return {
    dispose: () =>
      queued(async () => {
        await releaseOcr();
        await generator?.dispose();
      }),
  };
}
