// The host's side of "Draw Exact Text on Image…", the parts free of `vscode`: which text to offer,
// how it is typed in a one-line box, where the new file goes and under which name.
import { basename, dirname, extname } from 'node:path';
import { limits } from '../../runtime/protocol/limits.ts';
import { letterpressChunkKey, parseLegibilityChunk } from '../../runtime/png/letterpressRecord.ts';
import { normaliseTargetText, resolveTargetText } from '../../runtime/protocol/targetText.ts';
import { parseGenerationParameters } from '../../runtime/png/generationParameters.ts';
import { isInside } from '../workspace/workspacePaths.ts';

/**
 * The text the image was meant to show: its OCR record's target, else what its prompt quotes, else
 * nothing. `chunks` are the PNG's text chunks.
 */
export function intendedText(chunks: Readonly<Record<string, string>>): string | undefined {
  const record = parseLegibilityChunk(chunks[letterpressChunkKey] ?? '');
  if (record?.legibility.target.trim()) return record.legibility.target;
  const parameters = chunks.parameters;
  if (!parameters) return undefined;
  return resolveTargetText({ prompt: parseGenerationParameters(parameters).prompt }) ?? undefined;
}

/** A one-line input box shows a line break as `\n`, which normaliseTargetText turns back into one. */
export function targetForInputBox(target: string): string {
  return target.replace(/\r?\n/g, '\\n');
}

/** The input box's complaint about what is typed, or undefined when it can be drawn. */
export function checkTypedTarget(typed: string): string | undefined {
  const target = normaliseTargetText(typed);
  if (!target) return 'Type the exact text the image should show.';
  if (target.length > limits.targetText.maxChars) return `${target.length} characters: at most ${limits.targetText.maxChars} fit in an image.`;
  return undefined;
}

/** `<stem>-text`: the placement helpers add `.png`, or `-2.png`, `-3.png`… when that is taken. */
export function drawnBaseName(imagePath: string): string {
  const stem = basename(imagePath, extname(imagePath)).replace(/^\.+/, '').trim();
  return `${stem || 'image'}-text`;
}

/**
 * The folder the drawn image goes in: next to the original when that is inside a workspace folder
 * (in Restricted Mode: inside the output folder), else the output folder. Paths absolute; the
 * caller still checks the answer against symbolic links before writing.
 */
export function drawnImageFolder(input: { imagePath: string; workspaceRoots: readonly string[]; outputFolder: string; trusted: boolean }): string {
  const beside = dirname(input.imagePath);
  const allowed = input.trusted ? input.workspaceRoots.some((root) => isInside(root, beside)) : isInside(input.outputFolder, beside);
  return allowed ? beside : input.outputFolder;
}
