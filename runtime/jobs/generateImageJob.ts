// One `runtime/image/generate` request: plain images, or, with legibility options, images whose
// text is read back by OCR (scored, best of N, optionally the exact text drawn), written as PNG
// files into the host's temp folder. The host moves them into the workspace.
import { join } from 'node:path';
import type { CandidateMode, GenerateOptions, ProgressListener } from '../protocol/generationTypes.ts';
import type { ScoredCandidate } from '../legibility/bestOfN.ts';
import { runLegibleJob, scoreGeneratedPngs } from '../legibility/legibleJob.ts';
import { imageLegibility } from '../legibility/legibilityScore.ts';
import type { OcrReader } from '../legibility/ocrReader.ts';
import { readPngTextChunks } from '../png/pngTextChunks.ts';
import { writeNewFile } from '../files/newFiles.ts';
import {
  type GeneratedImageFile,
  type GenerateImageParams,
  type GenerateImageResult,
} from '../protocol/runtimeProtocol.ts';
import type { LegibilityScore } from '../png/letterpressRecord.ts';

/** The part of the pipeline's `ImageGenerator` the runtime uses. */
export interface ImageGeneratorLike {
  generate(
    options: GenerateOptions,
    hooks?: { onProgress?: ProgressListener; signal?: AbortSignal },
  ): Promise<{
    images: { width: number; height: number; seed: number; parameters: string; png(): Promise<Buffer> }[];
    provider: string;
    providerNote: string;
    timingsMs: Record<string, number>;
  }>;
  unload(): Promise<void>;
  dispose(): Promise<void>;
}

type GeneratorResult = Awaited<ReturnType<ImageGeneratorLike['generate']>>;

export async function runGenerateImageJob(
  generator: ImageGeneratorLike,
  params: GenerateImageParams,
  hooks: { signal: AbortSignal; onProgress: ProgressListener; log: (line: string) => void; batchSize?: number; reader?: OcrReader },
): Promise<GenerateImageResult> {
  // The params passed generateImageRequest's validator (the server's, or the CLI's call of it).
  const { options, outputDir, legibility } = params;
  // Layout-first candidates are best of N across phases, even with one candidate per phase.
  const wantsBest =
    legibility !== undefined && (legibility.candidates !== 1 || legibility.exactFallback || (legibility.layout ?? 'off') !== 'off');

  if (!legibility || !wantsBest) {
    const result = await generator.generate(options, { signal: hooks.signal, onProgress: hooks.onProgress });
    let pngs = await Promise.all(result.images.map((image) => image.png()));
    let scores: LegibilityScore[] | undefined;
    if (legibility) {
      hooks.signal.throwIfAborted();
      hooks.onProgress({ status: 'legibility', phase: 'read', candidate: 0, candidates: 1 });
      const scored = await scoreGeneratedPngs(pngs, legibility.target, hooks.reader);
      pngs = scored.map((s) => s.png);
      scores = scored.map((s) => s.score);
    }
    const images: GeneratedImageFile[] = [];
    for (const [index, image] of result.images.entries()) {
      const file = join(outputDir, `image-${index + 1}-seed-${image.seed}.png`);
      await writeFileAtomically(file, pngs[index]!);
      const score = scores?.[index];
      images.push({
        file,
        width: image.width,
        height: image.height,
        seed: image.seed,
        parameters: image.parameters,
        ...(score ? { legibility: imageLegibility(score, { exactTextFallback: false, candidateCount: 1 }) } : {}),
      });
    }
    return { images, provider: result.provider, providerNote: result.providerNote, timingsMs: result.timingsMs };
  }

  // Best of N: remember what the generator said about itself, which runLegibleJob does not pass on.
  let last: GeneratorResult | undefined;
  const timingsMs: Record<string, number> = {};
  const recording = {
    async generate(o: GenerateOptions, h?: { onProgress?: ProgressListener; signal?: AbortSignal }) {
      const result = await generator.generate(o, h);
      last = result;
      for (const [key, ms] of Object.entries(result.timingsMs)) timingsMs[key] = (timingsMs[key] ?? 0) + ms;
      return result;
    },
  };
  const started = performance.now();
  const best = await runLegibleJob(
    recording,
    { ...options, numImages: 1 },
    {
      target: legibility.target,
      candidates: legibility.candidates,
      exactFallback: legibility.exactFallback,
      position: legibility.position,
      batchSize: hooks.batchSize,
      layout: legibility.layout,
      layoutStrength: legibility.layoutStrength,
    },
    { signal: hooks.signal, onProgress: hooks.onProgress, log: hooks.log, reader: hooks.reader },
  );
  const candidateCount = best.ranked.length;
  const winner = best.ranked[0]!;
  const file = join(outputDir, `image-1-seed-${best.seed}.png`);
  await writeFileAtomically(file, best.png);
  const chosen: GeneratedImageFile = {
    file,
    width: options.width,
    height: options.height,
    seed: best.seed,
    parameters: parametersOf(winner),
    legibility: imageLegibility(best.score, { exactTextFallback: best.fallbackUsed, candidateCount, mode: winner.mode }),
  };
  // With the text drawn, the model's own best image is worth keeping as well.
  const others = best.fallbackUsed ? best.ranked : best.ranked.slice(1);
  const candidates: GeneratedImageFile[] = [];
  if (legibility.keepCandidates) {
    for (const [index, candidate] of others.entries()) {
      const candidateFile = join(outputDir, `candidate-${index + 1}-seed-${candidate.seed}.png`);
      await writeFileAtomically(candidateFile, candidate.png);
      candidates.push({
        file: candidateFile,
        width: options.width,
        height: options.height,
        seed: candidate.seed,
        parameters: parametersOf(candidate),
        legibility: imageLegibility(candidate.score, { exactTextFallback: false, candidateCount, mode: candidate.mode }),
      });
    }
  }
  timingsMs.total = performance.now() - started;
  return {
    images: [chosen],
    ...(candidates.length > 0 ? { candidates } : {}),
    provider: last?.provider ?? 'unknown',
    providerNote: last?.providerNote ?? '',
    timingsMs,
  };
}

function parametersOf(candidate: ScoredCandidate): string {
  return readPngTextChunks(candidate.png)['parameters'] ?? '';
}

/** Into the job's own temp folder: replaced whole, never written through a link. */
async function writeFileAtomically(file: string, data: Buffer): Promise<void> {
  await writeNewFile(file, data, { overwrite: true });
}
