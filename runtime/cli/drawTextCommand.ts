// `letterpress draw-text --image in.png --text "OPEN 24/7" --out out.png`: the runtime's
// runtime/image/drawText job from the command line (drawTextOnImage), written where the user says.
import { mkdir } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { drawTextOnImage } from '../jobs/drawTextJob.ts';
import { textPositions, type ProgressEvent, type TextPosition } from '../protocol/generationTypes.ts';
import { normaliseTargetText } from '../protocol/targetText.ts';
import { targetTextValidator } from '../protocol/runtimeProtocol.ts';
import { formatProblem, validateParams } from '../protocol/paramsValidation.ts';
import { describeScore } from '../legibility/legibleJob.ts';
import { OcrReader } from '../legibility/ocrReader.ts';
import { RuntimeError } from '../protocol/runtimeProtocol.ts';
import { CliError } from './cliError.ts';
import { pathExists } from '../files/newFiles.ts';
import { writeCliOutput } from './cliOutputFile.ts';
import { parseCliOptions } from './cliOptions.ts';

const help = `usage: letterpress draw-text --image <in.png> --text <text> --out <out.png> [options]

Draws the exact text on an existing PNG (for an image whose generated text does not read), reads
the result back with OCR and prints what it reads. The generation parameters in the PNG are kept.

options:
  --text-position top|centre|bottom   where the text goes when OCR finds no text like it in the image
                                      (default: centre; text OCR finds is drawn over in place)
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
    },
    { usage: help },
  );
  if (!values) return;
  if (!values.image) throw new CliError('draw-text needs --image <PNG file to draw on>');
  if (values.text === undefined) throw new CliError('draw-text needs --text <the exact text to draw>');
  if (!values.out) throw new CliError('draw-text needs --out <new PNG file>');
  const position = positionOption(values['text-position']);
  const problem = validateParams(targetTextValidator, values.text);
  if (problem) throw new CliError(formatProblem(problem, () => '--text'));
  const target = normaliseTargetText(values.text);
  const image = resolve(values.image);
  const out = resolve(values.out);
  if (extname(out).toLowerCase() !== '.png') throw new CliError(`--out must name a .png file, not ${values.out}`);
  const force = values.force ?? false;
  // Checked before the minutes of OCR work, and again when the file is moved into place.
  if (!force && (await pathExists(out))) throw new CliError(`${out} already exists; use --force to overwrite it`);

  const reader = new OcrReader();
  let drawn;
  try {
    drawn = await userErrorsAsCliErrors(() =>
      drawTextOnImage(reader, image, target, position, {
        signal: new AbortController().signal,
        onProgress: (event) => {
          const line = progressLine(event);
          if (line) process.stderr.write(`${line}\n`);
        },
        log: (line) => process.stderr.write(`${line}\n`),
      }),
    );
  } finally {
    await reader.close();
  }

  await mkdir(dirname(out), { recursive: true });
  await writeCliOutput(out, drawn.png, force);
  process.stdout.write(`${out} (${drawn.width}x${drawn.height})\n${describeScore(drawn.score)}\n`);
  if (!drawn.score.exactMatch) {
    process.stderr.write('letterpress: OCR does not read the drawn text exactly (small images and long texts are hard to read); the file was written anyway.\n');
  }
}
