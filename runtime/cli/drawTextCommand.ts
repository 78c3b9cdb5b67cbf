// `letterpress draw-text --image in.png --text "OPEN 24/7" --out out.png`: the runtime's
// runtime/image/drawText job (runDrawTextJob; runFixTextJob with --model-repair) run into a scratch
// folder, its PNG then written where the user says.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { env as ortEnv } from 'onnxruntime-node';
import { runDrawTextJob } from '../jobs/drawTextJob.ts';
import { runFixTextJob } from '../jobs/fixTextJob.ts';
import { defaultModelId } from '../modelStore/resolveModel.ts';
import { ImageGenerator } from '../pipeline/imageGenerator.ts';
import { deviceSettings, textPositions, type DeviceSetting, type ProgressEvent, type TextPosition } from '../protocol/generationTypes.ts';
import { limits, withinLimit } from '../protocol/limits.ts';
import { resolveCliModel } from './cliModel.ts';
import { drawTextRequest, fixTextRequest, type DrawTextParams, type FixTextParams } from '../protocol/runtimeProtocol.ts';
import { formatProblem, validateParams } from '../protocol/paramsValidation.ts';
import { describeScore } from '../legibility/legibleJob.ts';
import { OcrReader } from '../legibility/ocrReader.ts';
import { RuntimeError } from '../protocol/runtimeProtocol.ts';
import { CliError } from './cliError.ts';
import { checkCliOutput } from './cliOutputChecks.ts';
import { writeCliOutput } from './cliOutputFile.ts';
import { parseCliOptions } from './cliOptions.ts';

const help = `usage: letterpress draw-text --image <in.png> --text <text> --out <out.png> [options]

Draws the exact text on an existing PNG (for an image whose generated text does not read), reads
the result back with OCR and prints what it reads. The generation parameters in the PNG are kept.

options:
  --text-position top|centre|bottom   where the text goes when OCR finds no text like it in the image
                                      (default: centre; text OCR finds is drawn over in place)
  --model-repair                      fix the text with the model first: draw the text where the image
                                      has it and repaint only that region (inpainting) with the image's
                                      own prompt, keep the candidate OCR reads best; the plate only when
                                      none reads exactly (needs the image's generation parameters)
  --model <dir|repo id>               the model for --model-repair (default ${defaultModelId})
  --candidates <n|auto>               repair candidates (default auto: 4 on a GPU, 1 on the CPU)
  --device <d>                        ${deviceSettings.join(', ')} (default auto)
  --force                             overwrite --out if it exists

A line break in --text (or \\n typed as two characters) starts a new line.`;

function positionOption(value: string | undefined): TextPosition | undefined {
  if (value === undefined) return undefined;
  const position = value === 'center' ? 'centre' : value;
  if (!(textPositions as readonly string[]).includes(position)) {
    throw new CliError(`--text-position must be one of ${textPositions.join(', ')}, not "${value}"`);
  }
  return position as TextPosition;
}

/** The job's checks of the user's input, as one-line CLI errors. */
async function userErrorsAsCliErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RuntimeError && (error.code === 'userError' || error.code === 'invalidParams')) throw new CliError(error.message);
    throw error;
  }
}

function progressLine(event: ProgressEvent): string | undefined {
  if (event.status !== 'legibility') return undefined;
  if (event.mode === 'repair') return event.phase === 'read' ? `Reading repair ${event.candidate + 1}…` : undefined;
  return event.phase === 'read' ? 'Reading the text already in the image…' : event.phase === 'draw' ? 'Drawing the exact text…' : undefined;
}

export async function runDrawTextCommand(args: string[]): Promise<void> {
  const values = parseCliOptions(
    args,
    {
      image: { type: 'string', short: 'i' },
      text: { type: 'string', short: 't' },
      'text-position': { type: 'string' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      'model-repair': { type: 'boolean' },
      model: { type: 'string' },
      candidates: { type: 'string' },
      device: { type: 'string' },
    },
    { usage: help },
  );
  if (!values) return;
  if (!values.image) throw new CliError('draw-text needs --image <PNG file to draw on>');
  if (values.text === undefined) throw new CliError('draw-text needs --text <the exact text to draw>');
  if (!values.out) throw new CliError('draw-text needs --out <new PNG file>');
  const position = positionOption(values['text-position']);
  const repair = values['model-repair'] ?? false;
  if (!repair && (values.model !== undefined || values.candidates !== undefined || values.device !== undefined)) {
    throw new CliError('--model, --candidates and --device go with --model-repair');
  }
  const candidates = values.candidates === undefined || values.candidates === 'auto' ? 0 : Number(values.candidates);
  if (!withinLimit({ ...limits.candidates, min: 0 }, candidates) || values.candidates === '0') {
    throw new CliError(`--candidates must be auto or a whole number from 1 to ${limits.candidates.max}, got ${values.candidates}`);
  }
  if (values.device !== undefined && !(deviceSettings as readonly string[]).includes(values.device)) {
    throw new CliError(`unknown device "${values.device}"; valid devices: ${deviceSettings.join(', ')}`);
  }
  const image = resolve(values.image);
  const out = resolve(values.out);
  if (extname(out).toLowerCase() !== '.png') throw new CliError(`--out must name a .png file, not ${values.out}`);
  // The runtime's request for a drawing, checked by the same validator as the host's.
  const params: DrawTextParams = { jobId: 'cli', input: image, target: values.text, position, outputDir: dirname(out) };
  const problem = validateParams(drawTextRequest.validate, params);
  if (problem) throw new CliError(formatProblem(problem, (path) => drawTextFlags[path.join('.')] ?? path.join('.')));
  const force = values.force ?? false;
  // Checked before the minutes of OCR work, and again when the file is moved into place.
  await checkCliOutput('--out', out, force);

  const reader = new OcrReader();
  const hooks = {
    signal: new AbortController().signal,
    onProgress: (event: ProgressEvent) => {
      const line = progressLine(event);
      if (line) process.stderr.write(`${line}\n`);
    },
    log: (line: string) => process.stderr.write(`${line}\n`),
  };
  let drawn: { png: Buffer; width: number; height: number; score: Parameters<typeof describeScore>[0]; how: string };
  const generator = repair ? new ImageGenerator({ idleUnloadMs: 0 }) : undefined;
  try {
    if (generator) {
      const modelName = values.model ?? defaultModelId;
      const modelDir = await resolveCliModel(modelName);
      ortEnv.logLevel = 'fatal';
      const device = values.device as DeviceSetting | undefined;
      // The extension's runtime/image/fixText request, run here: the same params, validator and job function.
      const fixParams: FixTextParams = { ...params, model: { modelDir, modelName, candidates, ...(device ? { device } : {}) } };
      const fixProblem = validateParams(fixTextRequest.validate, fixParams);
      if (fixProblem) throw new CliError(formatProblem(fixProblem, (path) => drawTextFlags[path.join('.')] ?? path.join('.')));
      drawn = await inScratchFolder(async (outputDir) => {
        const result = await userErrorsAsCliErrors(() => runFixTextJob(generator, reader, { ...fixParams, outputDir }, hooks));
        const how = result.mode === 'repair' ? ', text repaired by the model' : ', text drawn on a plate';
        return { png: await readFile(result.file), width: result.width, height: result.height, score: result.legibility, how };
      });
    } else {
      // The extension's runtime/image/drawText request, run here: the same params, validator and job function.
      drawn = await inScratchFolder(async (outputDir) => {
        const result = await userErrorsAsCliErrors(() => runDrawTextJob(reader, { ...params, outputDir }, hooks));
        return { png: await readFile(result.file), width: result.width, height: result.height, score: result.legibility, how: '' };
      });
    }
  } finally {
    await reader.close();
    await generator?.dispose();
  }

  await writeCliOutput(out, drawn.png, force);
  process.stdout.write(`${out} (${drawn.width}x${drawn.height}${drawn.how})\n${describeScore(drawn.score)}\n`);
  if (!drawn.score.exactMatch) {
    process.stderr.write('letterpress: OCR does not read the drawn text exactly (small images and long texts are hard to read); the file was written anyway.\n');
  }
}

/** Runs `work` with an empty private folder for the job's output, removed afterwards. */
async function inScratchFolder<T>(work: (folder: string) => Promise<T>): Promise<T> {
  const folder = await mkdtemp(join(tmpdir(), 'letterpress-draw-text-'));
  try {
    return await work(folder);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** The CLI flag behind each field of DrawTextParams, for the validator's messages. */
const drawTextFlags: Record<string, string> = { input: '--image', target: '--text', position: '--text-position', outputDir: '--out' };
