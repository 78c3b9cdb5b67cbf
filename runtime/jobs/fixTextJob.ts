// "Fix text" with the model: the image's text region — OCR's box, or the layout's box from its
// record — gets the target drawn in and is inpainted, with the image's own prompt and settings, a
// few candidates ranked by OCR; the plate (drawTextOnImage) only when none reads exactly. The input
// file is only read; the result is a new PNG like the plate's.
import { basename } from 'node:path';
import type { CandidateGenerator } from '../legibility/bestOfN.ts';
import { generateBestOfN } from '../legibility/bestOfN.ts';
import { autoCandidateCount, describeScore } from '../legibility/legibleJob.ts';
import { letterpressChunkKey, parseLegibilityChunk, type LegibilityScore } from '../png/letterpressRecord.ts';
import { scoreImage } from '../legibility/legibilityScore.ts';
import type { OcrReader } from '../legibility/ocrReader.ts';
import { defaultRepairStrength, repairRegion, repairStart } from '../layout/textRepair.ts';
import { schedulerForA1111Sampler } from '../png/a1111Samplers.ts';
import { parseGenerationParameters } from '../png/generationParameters.ts';
import { withStartImageData } from '../pipeline/imageGenerator.ts';
import type { GenerateOptions, ProgressListener, TextPosition } from '../protocol/generationTypes.ts';
import { imageSeed, limits, withinLimit } from '../protocol/limits.ts';
import { imageLegibility } from '../legibility/legibilityScore.ts';
import { normaliseTargetText } from '../protocol/targetText.ts';
import type { FixTextParams, FixTextResult, RepairModelParams } from '../protocol/runtimeProtocol.ts';
import { checkOutputFolder, drawTextOnImage, imageSize, readInputPng, reusableScore, textChunksOf, writeDrawnImage, type DrawnTextImage } from './drawTextJob.ts';

/** The model a repair runs (the host's or the CLI's model setting, resolved to a folder). */
export type RepairModel = RepairModelParams;

export interface FixedTextImage extends DrawnTextImage {
  /** How the text was fixed: inpainted by the model, or drawn on a plate because no repair read. */
  mode: 'repair' | 'plate';
  /** Repair candidates made (0 when the image could not be repaired at all). */
  candidateCount: number;
  /** Why the model did not try (no model, no generation parameters); absent when it did. */
  plateReason?: string;
}

/**
 * The generation options of a repair of an image made with `parameters` (A1111 infotext), or why
 * the image cannot be repaired by the model (then the plate serves).
 */
export function repairOptions(parameters: string | undefined, width: number, height: number, model: RepairModel): GenerateOptions | string {
  if (!parameters) return 'it has no generation parameters (its prompt is needed to repaint the text)';
  const parsed = parseGenerationParameters(parameters);
  if (!parsed.prompt.trim()) return 'its generation parameters have no prompt';
  if (!withinLimit(limits.side, width) || !withinLimit(limits.side, height)) {
    return `it is ${width}×${height}; the model takes sides that are multiples of ${limits.side.multipleOf} from ${limits.side.min} to ${limits.side.max}`;
  }
  const scheduler = parsed.sampler ? schedulerForA1111Sampler(parsed.sampler, parsed.scheduleType) : undefined;
  const steps = withinLimit(limits.steps, parsed.steps) ? parsed.steps : 25;
  return {
    modelDir: model.modelDir,
    ...(model.modelName ? { modelName: model.modelName } : {}),
    prompt: parsed.prompt,
    negativePrompt: parsed.negativePrompt,
    steps,
    guidanceScale: withinLimit(limits.guidanceScale, parsed.cfgScale) ? parsed.cfgScale : 7.5,
    ...(scheduler ? { scheduler } : {}),
    width,
    height,
    // The image's own seed, one on: each repair candidate takes the next.
    seed: withinLimit(limits.seed, parsed.seed) ? imageSeed(parsed.seed, 1) : 0,
    numImages: 1,
    ...(model.device ? { device: model.device } : {}),
    ...(model.fp16 !== undefined ? { fp16: model.fp16 } : {}),
  };
}

/** What repairs with the model: the loaded pipeline and the model's settings. */
export interface TextRepairer {
  generator: CandidateGenerator;
  model: RepairModel;
}

/**
 * The fixed image, not yet written: repaired by `repairer` when it can (the plate when a candidate
 * reads no better, or without a repairer), from `inputPath`, which is only read.
 */
export async function fixTextOnImage(
  reader: OcrReader,
  inputPath: string,
  target: string,
  position: TextPosition | undefined,
  repairer: TextRepairer | undefined,
  hooks: { signal: AbortSignal; onProgress: ProgressListener; log: (line: string) => void },
): Promise<FixedTextImage> {
  const { signal, onProgress, log } = hooks;
  const input = await readInputPng(inputPath);
  const name = basename(inputPath);
  const { width, height } = await imageSize(input, name);
  const chunks = textChunksOf(input, name);
  const record = parseLegibilityChunk(chunks[letterpressChunkKey] ?? '');
  const plate = async (candidateCount: number, plateReason?: string): Promise<FixedTextImage> => ({
    ...(await drawTextOnImage(reader, inputPath, target, position, hooks)),
    mode: 'plate',
    candidateCount,
    ...(plateReason ? { plateReason } : {}),
  });
  const plateWithoutRepair = (reason: string) => {
    log(`${name} cannot be repaired by the model: ${reason}; drawing the text on a plate instead`);
    return plate(0, reason);
  };
  if (!repairer) return plateWithoutRepair('no model is on this machine yet');
  const { generator, model } = repairer;
  const options = repairOptions(chunks.parameters, width, height, model);
  if (typeof options === 'string') return plateWithoutRepair(options);
  signal.throwIfAborted();

  let score: LegibilityScore | null = reusableScore(record, target);
  if (!score) {
    onProgress({ status: 'legibility', phase: 'read', candidate: 0, candidates: 1 });
    score = await scoreImage(reader, input, target);
    log(`${name} before the repair: ${describeScore(score)}`);
  }
  const region = repairRegion({ score, record: (record ?? undefined) as unknown as Record<string, unknown> | undefined });
  const strength = model.strength ?? defaultRepairStrength;
  const result = await generateBestOfN({
    generator,
    reader,
    options,
    target,
    candidates: model.candidates === 0 ? autoCandidateCount : model.candidates,
    phases: [
      {
        mode: 'repair',
        async prepare(base) {
          const start = await repairStart(input, target, region, position);
          return {
            options: withStartImageData(base, { png: start.png, strength, mask: start.mask, kind: 'image' }),
            record: { repair: { strength, from: name, box: start.maskBox } },
          };
        },
      },
    ],
    onProgress,
    signal,
    onCandidate: (candidate) => log(`repair seed ${candidate.seed}: ${describeScore(candidate.score)}`),
  });
  if (result.score.exactMatch) {
    log(`repaired the text of ${name} (seed ${result.seed}): ${describeScore(result.score)}`);
    return { png: result.png, score: result.score, width, height, mode: 'repair', candidateCount: result.ranked.length };
  }
  log(`no repair of ${name} reads exactly (best: ${describeScore(result.score)}); drawing the text on a plate instead`);
  return plate(result.ranked.length);
}

/**
 * One `runtime/image/fixText` request (the extension's Fix text) or `letterpress draw-text
 * --model-repair`: the repaired (or plated) image as `<stem>-text.png` in `params.outputDir`, never
 * replacing a file; the input is only read. `generator` (the loaded pipeline) is only used with `params.model`.
 */
export async function runFixTextJob(
  generator: CandidateGenerator | undefined,
  reader: OcrReader,
  params: FixTextParams,
  hooks: { signal: AbortSignal; onProgress: ProgressListener; log: (line: string) => void },
): Promise<FixTextResult> {
  // The params passed fixTextRequest's validator (the server's, or the CLI's call of it).
  const target = normaliseTargetText(params.target);
  await checkOutputFolder(params.outputDir);
  const repairer = generator && params.model ? { generator, model: params.model } : undefined;
  const fixed = await fixTextOnImage(reader, params.input, target, params.position, repairer, hooks);
  hooks.signal.throwIfAborted();
  const file = await writeDrawnImage(params.outputDir, params.input, fixed.png);
  hooks.onProgress({ status: 'done' });
  const plate = fixed.mode === 'plate';
  return {
    file,
    width: fixed.width,
    height: fixed.height,
    legibility: imageLegibility(fixed.score, { exactTextFallback: plate, candidateCount: Math.max(1, fixed.candidateCount), ...(plate ? {} : { mode: 'repair' as const }) }),
    mode: fixed.mode,
    repairCandidates: fixed.candidateCount,
    ...(fixed.plateReason ? { plateReason: fixed.plateReason } : {}),
  };
}
