// How the commands show a job of jobFlow.ts: a cancellable progress notification (window.withProgress)
// fed by the job's ProgressEvents, and a message when it was cancelled or failed. The gallery shows
// the same jobs in its job rows instead (gallery/galleryJobs.ts).
import { basename, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import type { ProgressEvent } from '../../runtime/protocol/generationTypes.ts';
import { isRuntimeError, type FixTextResult } from '../../runtime/protocol/runtimeProtocol.ts';
import type { LetterpressServices } from '../services.ts';
import { OutputPathError, resolveOutputFolder } from '../workspace/workspacePaths.ts';
import {
  ModelDeclinedError,
  shortPrompt,
  startDrawing,
  startGeneration,
  type DrawingJobRequest,
  type FlowJob,
  type GenerationJobRequest,
  type GenerationPlan,
  type PlacedImage,
} from './jobFlow.ts';
import { describeLegibility } from './legibilityOptions.ts';
import { jobWorkspace } from './jobWorkspace.ts';

type NotificationProgress = vscode.Progress<{ message?: string; increment?: number }>;

export interface NotificationStyle<Plan> {
  /** The notification's title; known once the job is queued. */
  title: string;
  /** Told when the user cancelled. */
  cancelled: string;
  /** Turns the job's progress into the notification's message (and increment). */
  follow(plan: Plan, progress: NotificationProgress, services: LetterpressServices): (event: ProgressEvent) => void;
  /** Tells the user what failed. */
  failed(error: unknown): void;
}

/**
 * Follows `job` in a progress notification with a Cancel button; its outcome, or undefined when it
 * was cancelled or failed (the user has been told). The notification opens once the job is queued:
 * the checks before that (the model download offer among them) speak for themselves.
 */
export async function showInNotification<Outcome, Plan>(services: LetterpressServices, job: FlowJob<Outcome, Plan>, style: NotificationStyle<Plan>): Promise<Outcome | undefined> {
  try {
    const plan = await job.queued;
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: style.title, cancellable: true }, (progress, cancellation) => {
      cancellation.onCancellationRequested(() => job.cancel());
      const ahead = services.jobs.jobs.findIndex((j) => j.id === job.id);
      if (ahead > 0) progress.report({ message: `waiting for ${ahead} job${ahead > 1 ? 's' : ''} to finish` });
      job.onProgress(style.follow(plan, progress, services));
      return job.result;
    });
  } catch (error) {
    if (isRuntimeError(error, 'cancelled')) void vscode.window.showInformationMessage(style.cancelled);
    else if (error instanceof ModelDeclinedError) {
      // The model manager has told the user what to do.
    } else if (error instanceof OutputPathError) explainOutputFolder(error);
    else style.failed(error);
    return undefined;
  }
}

/** The output folder setting is unusable: say why, with a way to the setting. */
export function explainOutputFolder(error: OutputPathError): void {
  void vscode.window.showErrorMessage(`Letterpress: ${error.message}`, 'Open Settings').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'letterpress.outputFolder');
  });
}

/** A generation's progress: "candidate 2/4, step 12/25", with the bar following the steps. */
export function followGeneration(plan: GenerationPlan, progress: NotificationProgress, services: LetterpressServices): (event: ProgressEvent) => void {
  let done = 0;
  // Images the job will make: numImages, or the candidates once the runtime says how many.
  let images = plan.numImages;
  const what = (image: number) => (images > 1 ? `${plan.bestOfN ? 'candidate' : 'image'} ${image + 1}/${images}, ` : '');
  return (event) => {
    switch (event.status) {
      case 'step': {
        const batch = event.images ?? 1;
        images = Math.max(images, event.image + batch);
        const fraction = Math.min(100, ((event.image + (batch * event.step) / event.total) / images) * 100);
        const which = batch > 1 ? `${what(event.image).replace(/ \d+\//, ` ${event.image + 1}–${event.image + batch}/`)}` : what(event.image);
        progress.report({ increment: Math.max(0, fraction - done), message: `${which}step ${event.step}/${event.total}` });
        done = Math.max(done, fraction);
        break;
      }
      case 'legibility':
        if (Number.isFinite(event.candidates)) images = Math.max(event.candidates, event.candidate + 1);
        if (event.phase === 'read') progress.report({ message: `${what(event.candidate)}reading the text` });
        else if (event.phase === 'draw') progress.report({ message: 'no candidate spelled the text: drawing it' });
        else services.log.info(`candidate ${event.candidate + 1}: ${event.exactMatch ? 'exact' : `CER ${event.cer?.toFixed(2)}`}`);
        break;
      case 'convert':
        progress.report({ message: `preparing ${event.component} (first run only)` });
        break;
      case 'load':
        progress.report({ message: `loading ${event.component} on ${event.provider}` });
        break;
      case 'decode':
        progress.report({ message: 'decoding' });
        break;
      case 'message':
        if (event.level === 'warning') {
          services.log.warn(event.text);
          void vscode.window.showWarningMessage(`Letterpress: ${event.text}`);
        } else services.log.info(event.text);
        break;
      default:
        break;
    }
  };
}

/** Fix text's progress: reading the text already there, repainting it (steps), reading each repair, or drawing it. */
export function followDrawing(_plan: void, progress: NotificationProgress): (event: ProgressEvent) => void {
  return (event) => {
    if (event.status === 'step') progress.report({ message: `repainting the text: step ${event.step}/${event.total}` });
    if (event.status === 'load') progress.report({ message: `loading ${event.component} on ${event.provider}` });
    if (event.status !== 'legibility') return;
    const of = event.candidates > 1 ? ` ${event.candidate + 1}/${event.candidates}` : '';
    if (event.phase === 'read') progress.report({ message: event.mode === 'repair' ? `reading repair${of}` : 'reading the text in the image' });
    if (event.phase === 'draw') progress.report({ message: 'no repair reads exactly: drawing the text and reading it back' });
  };
}

/** A failed job: the message, the log, and the way out (restart a runtime that is gone). */
export function reportJobFailure(services: LetterpressServices, what: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  services.log.error(`${what[0]!.toUpperCase()}${what.slice(1)} failed: ${message}${isRuntimeError(error) && error.detail ? `\n${error.detail}` : ''}`);
  const actions = isRuntimeError(error, 'unavailable') ? ['Restart Runtime', 'Show Log'] : ['Show Log'];
  void vscode.window.showErrorMessage(`Letterpress: ${what} failed: ${message}`, ...actions).then((choice) => {
    if (choice === 'Show Log') services.log.show();
    if (choice === 'Restart Runtime') void vscode.commands.executeCommand('letterpress.restartRuntime');
  });
}

/** The output folder inside the workspace, or undefined after telling the user what is wrong with the setting. */
export async function outputFolderOrExplain(root: string, setting: string): Promise<string | undefined> {
  try {
    return await resolveOutputFolder(root, setting);
  } catch (error) {
    if (!(error instanceof OutputPathError)) throw error;
    explainOutputFolder(error);
    return undefined;
  }
}

/** Generate Image… and Generate Image from Comment: the placed images, or undefined (the user has been told). */
export async function generateWithNotification(
  services: LetterpressServices,
  request: Omit<GenerationJobRequest, 'workspace'> & { workspaceFolder: vscode.WorkspaceFolder },
): Promise<PlacedImage[] | undefined> {
  const outcome = await showInNotification(services, startGeneration(services, { ...request, workspace: jobWorkspace(request.workspaceFolder) }), {
    title: `Letterpress: “${shortPrompt(request.prompt)}”`,
    cancelled: 'Letterpress: image generation cancelled.',
    follow: followGeneration,
    failed: (error) => reportJobFailure(services, 'image generation', error),
  });
  if (!outcome) return undefined;
  reportGenerated(services, request.workspaceFolder.uri.fsPath, outcome.images, outcome.candidates.length);
  return outcome.images;
}

/** The result notification: where the image went and, for quoted text, how well it reads. */
function reportGenerated(services: LetterpressServices, root: string, placed: PlacedImage[], candidates: number): void {
  const scored = placed.find((image) => image.legibility);
  if (!scored?.legibility) return;
  const legibility = scored.legibility;
  const name = relative(root, scored.path).split(sep).join('/');
  const line = `Letterpress: ${name}: ${describeLegibility(legibility)}.`;
  services.log.info(line);
  const show = legibility.exactMatch ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
  const hint = legibility.exactMatch ? '' : ' Try more candidates, or let Letterpress draw the exact text.';
  const kept = candidates > 0 ? ` ${candidates} candidate${candidates > 1 ? 's' : ''} kept in the gallery.` : '';
  const actions = legibility.exactMatch ? ['Open Gallery'] : ['Draw Exact Text', 'Open Gallery', 'Text Settings'];
  void show(`${line}${kept}${hint}`, ...actions).then((choice) => {
    if (choice === 'Draw Exact Text') void vscode.commands.executeCommand('letterpress.drawExactText', vscode.Uri.file(scored.path));
    if (choice === 'Open Gallery') void vscode.commands.executeCommand('letterpress.openGallery');
    if (choice === 'Text Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'letterpress text');
  });
}

/** Draw Exact Text on Image…: the new file's path, or undefined (the user has been told). */
export async function drawWithNotification(
  services: LetterpressServices,
  request: Omit<DrawingJobRequest, 'workspace'> & { workspaceFolder: vscode.WorkspaceFolder },
): Promise<string | undefined> {
  const name = basename(request.imagePath);
  const outcome = await showInNotification(services, startDrawing(services, { ...request, workspace: jobWorkspace(request.workspaceFolder) }), {
    title: `Letterpress: fixing the text “${shortPrompt(request.target.replace(/\n/g, ' / '))}” on ${name}`,
    cancelled: 'Letterpress: fixing the text was cancelled; nothing was written.',
    follow: followDrawing,
    failed: (error) => {
      if (!isRuntimeError(error, 'userError')) return reportJobFailure(services, `drawing the text on ${name}`, error);
      services.log.error(`Drawing the text on ${name} failed: ${error.message}${error.detail ? `\n${error.detail}` : ''}`);
      void vscode.window.showErrorMessage(`Letterpress: cannot draw the text: ${error.message}`);
    },
  });
  if (!outcome) return undefined;
  reportDrawn(request.workspaceFolder.uri.fsPath, outcome.path, outcome.result);
  return outcome.path;
}

function reportDrawn(root: string, placed: string, result: FixTextResult): void {
  const placedName = relative(root, placed).split(sep).join('/');
  const target = `“${result.legibility.target.replace(/\n/g, ' / ')}”`;
  if (result.legibility.exactMatch) {
    const how = result.mode === 'repair' ? 'repainted by the model' : 'drawn';
    void vscode.window.showInformationMessage(`Letterpress: ${placedName}: ${target} ${how}, and it reads exactly.`, 'Open Gallery').then((choice) => {
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
