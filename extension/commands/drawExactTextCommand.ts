// "Letterpress: Draw Exact Text on Image…": the exact-text fallback for an image that already exists
// (from the palette with the active image or a file picker, the Explorer's context menu, the result
// notification and the gallery's "Fix text"). Asks for the text, prefilled with what the image was
// meant to say, runs the runtime's drawText job with a cancellable progress notification, and places
// `<stem>-text.png` next to the original (never replacing a file), then opens it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import { normaliseTargetText } from '../../runtime/protocol/targetText.ts';
import { sharedPngMetadataReader } from '../gallery/pngMetadataReader.ts';
import { legibilityChunkKey } from '../../runtime/legibility/legibilityScore.ts';
import { isRuntimeError, type DrawTextParams, type DrawTextResult } from '../../runtime/protocol/runtimeProtocol.ts';
import { checkTypedTarget, drawnBaseName, drawnImageFolder, intendedText, targetForInputBox } from '../jobs/drawTextFlow.ts';
import { outputFolderOrExplain, shortPrompt } from '../jobs/generationFlow.ts';
import type { JobHandle } from '../runtime/jobQueue.ts';
import type { LetterpressServices } from '../services.ts';
import { readSettings } from '../settings.ts';
import { isInside, OutputPathError, resolveOutputFolder } from '../workspace/workspacePaths.ts';
import { pickWorkspaceImage } from './imagePicker.ts';
import { writeAtFreeName } from '../../runtime/files/newFiles.ts';

export const drawExactTextCommand = 'letterpress.drawExactText';

export function registerDrawExactTextCommand(context: vscode.ExtensionContext, services: LetterpressServices): void {
  context.subscriptions.push(
    // The Explorer passes the clicked file; the palette passes nothing.
    vscode.commands.registerCommand(drawExactTextCommand, (resource?: unknown) =>
      drawExactTextFlow(services, resource instanceof vscode.Uri ? resource : undefined),
    ),
  );
}

async function drawExactTextFlow(services: LetterpressServices, resource: vscode.Uri | undefined): Promise<void> {
  const picked = await pickWorkspaceImage(
    resource,
    { title: 'Letterpress: Draw Exact Text on Image', openLabel: 'Draw Text on It' },
    {
      notLocal: 'exact text can only be drawn on an image file on this machine.',
      noFolder: 'open a folder first; the image with the text drawn on it is saved inside the workspace.',
    },
  );
  if (!picked) return;
  const { image, workspaceFolder } = picked;
  const target = await askTextToDraw(image);
  if (target === undefined) return;
  const placed = await drawIntoWorkspace(services, { imagePath: image.fsPath, target, workspaceFolder });
  if (placed) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(placed));
}

/**
 * Asks for the exact text to draw on `image`, prefilled with what it was meant to show; the text
 * normalised (`\n` typed for a line break becomes one), or undefined when dismissed.
 */
export async function askTextToDraw(image: vscode.Uri): Promise<string | undefined> {
  // Only to prefill the text: whatever is wrong with the file, the runtime says it in its own words.
  // Off the host's thread and within bounds: the image may come from anywhere.
  const chunks: Record<string, string> = await sharedPngMetadataReader()
    .read(image.fsPath, ['parameters', legibilityChunkKey])
    .catch(() => ({}));
  const intended = intendedText(chunks);
  const typed = await vscode.window.showInputBox({
    title: `Letterpress: Draw Exact Text on ${basename(image.fsPath)}`,
    prompt: 'The exact text to draw over the image; \\n starts a second line',
    placeHolder: 'OPEN 24/7',
    value: intended ? targetForInputBox(intended) : '',
    ignoreFocusOut: true,
    validateInput: checkTypedTarget,
  });
  if (typed === undefined || checkTypedTarget(typed) !== undefined) return undefined;
  return normaliseTargetText(typed);
}

export interface DrawRequest {
  imagePath: string;
  target: string;
  workspaceFolder: vscode.WorkspaceFolder;
}

/**
 * Queues the runtime's drawText job and places `<stem>-text.png` (beside the image, else in the
 * output folder); `onJob` gets the queued job, to follow its progress and cancel it. Rejects with
 * the runtime's error (code 'cancelled' when cancelled), or an OutputPathError for a bad folder.
 */
export async function drawAndPlace(
  services: LetterpressServices,
  request: DrawRequest,
  onJob: (job: JobHandle<DrawTextResult>) => void,
): Promise<{ path: string; result: DrawTextResult }> {
  const settings = readSettings(request.workspaceFolder.uri);
  const root = request.workspaceFolder.uri.fsPath;
  const outputFolder = await resolveOutputFolder(root, settings.outputFolder);
  const tempDir = await mkdtemp(join(tmpdir(), 'letterpress-draw-'));
  try {
    const params: Omit<DrawTextParams, 'jobId'> = {
      input: request.imagePath,
      target: request.target,
      outputDir: tempDir,
      ...(settings.exactTextPosition ? { position: settings.exactTextPosition } : {}),
    };
    const job = services.jobs.drawText(`draw text on ${basename(request.imagePath)}`, params);
    onJob(job);
    const result = await job.result;
    const roots = (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
    const wanted = drawnImageFolder({ imagePath: request.imagePath, workspaceRoots: roots, outputFolder, trusted: vscode.workspace.isTrusted });
    // Checked now, after the job: a folder that leads out of the workspace through a link gets nothing.
    const folder = await confined(wanted, roots).catch(() => resolveOutputFolder(root, settings.outputFolder));
    const path = await writeAtFreeName(folder, drawnBaseName(request.imagePath), '.png', { copyOf: result.file });
    services.log.info(`Letterpress: drew “${result.legibility.target}” on ${request.imagePath} → ${path}; OCR reads ${JSON.stringify(result.legibility.ocrText)}`);
    return { path, result };
  } finally {
    await rm(tempDir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Runs the job under a progress notification and places the new file; its path, or undefined when cancelled or failed (the user has been told). */
async function drawIntoWorkspace(services: LetterpressServices, request: DrawRequest): Promise<string | undefined> {
  const root = request.workspaceFolder.uri.fsPath;
  if ((await outputFolderOrExplain(root, readSettings(request.workspaceFolder.uri).outputFolder)) === undefined) return undefined;
  const name = basename(request.imagePath);
  try {
    const { path, result } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Letterpress: drawing “${shortPrompt(request.target.replace(/\n/g, ' / '))}” on ${name}`, cancellable: true },
      (progress, cancellation) => drawAndPlace(services, request, (job) => followInNotification(services, job, progress, cancellation)),
    );
    reportDrawn(root, path, result);
    return path;
  } catch (error) {
    if (isRuntimeError(error, 'cancelled')) void vscode.window.showInformationMessage('Letterpress: drawing the text was cancelled; nothing was written.');
    else reportDrawFailure(services, name, error);
    return undefined;
  }
}

async function confined(folder: string, roots: readonly string[]): Promise<string> {
  const root = roots.find((candidate) => isInside(candidate, folder));
  if (!root) throw new OutputPathError(`${folder} is outside the workspace`);
  return resolveOutputFolder(root, relative(root, folder) || '.');
}

function followInNotification(
  services: LetterpressServices,
  job: JobHandle<DrawTextResult>,
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  cancellation: vscode.CancellationToken,
): void {
  cancellation.onCancellationRequested(() => job.cancel());
  const ahead = services.jobs.jobs.findIndex((j) => j.id === job.id);
  if (ahead > 0) progress.report({ message: `waiting for ${ahead} job${ahead > 1 ? 's' : ''} to finish` });
  job.onProgress((event) => {
    if (event.status !== 'legibility') return;
    if (event.phase === 'read') progress.report({ message: 'reading the text in the image' });
    if (event.phase === 'draw') progress.report({ message: 'drawing the text and reading it back' });
  });
}

function reportDrawn(root: string, placed: string, result: DrawTextResult): void {
  const placedName = relative(root, placed).split(sep).join('/');
  const target = `“${result.legibility.target.replace(/\n/g, ' / ')}”`;
  if (result.legibility.exactMatch) {
    void vscode.window.showInformationMessage(`Letterpress: ${placedName}: ${target} drawn, and it reads exactly.`, 'Open Gallery').then((choice) => {
      if (choice) void vscode.commands.executeCommand('letterpress.openGallery');
    });
    return;
  }
  const read = result.legibility.ocrText.replace(/\s+/g, ' ').trim();
  void vscode.window.showWarningMessage(
    `Letterpress: ${placedName}: ${target} drawn, but OCR reads ${read ? `“${read}”` : 'nothing'} (CER ${result.legibility.cer.toFixed(2)}). ` +
      'A larger image, a shorter text or another position (setting "letterpress.exactTextPosition") reads better.',
  );
}

function reportDrawFailure(services: LetterpressServices, name: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  services.log.error(`Drawing the text on ${name} failed: ${message}${isRuntimeError(error) && error.detail ? `\n${error.detail}` : ''}`);
  if (isRuntimeError(error, 'userError')) {
    void vscode.window.showErrorMessage(`Letterpress: cannot draw the text: ${message}`);
    return;
  }
  const actions = isRuntimeError(error, 'unavailable') ? ['Restart Runtime', 'Show Log'] : ['Show Log'];
  void vscode.window.showErrorMessage(`Letterpress: drawing the text on ${name} failed: ${message}`, ...actions).then((choice) => {
    if (choice === 'Show Log') services.log.show();
    if (choice === 'Restart Runtime') void vscode.commands.executeCommand('letterpress.restartRuntime');
  });
}
