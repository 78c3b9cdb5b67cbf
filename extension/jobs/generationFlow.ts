// One image job from the user's point of view: check the output folder and the model, queue the job
// with a cancellable progress notification, then move the runtime's PNG from its temp folder into
// the workspace under a readable name. Shared by both commands.
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import type { GenerateOptions } from '../../runtime/protocol/generationTypes.ts';
import { limits } from '../../runtime/protocol/limits.ts';
import { isRuntimeError, type GenerateImageParams, type GenerateImageResult, type ImageLegibility } from '../../runtime/protocol/runtimeProtocol.ts';
import { placeGeneratedImages } from '../workspace/imagePlacement.ts';
import { describeLegibility, legibilityOptionsFor } from './legibilityOptions.ts';
import { outputBaseName } from '../workspace/outputFileName.ts';
import type { LetterpressServices } from '../services.ts';
import { readSettings } from '../settings.ts';
import { OutputPathError, resolveOutputFolder } from '../workspace/workspacePaths.ts';

export interface ImageJobRequest {
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  /** Preset name for the file name ("banner"). */
  presetName?: string;
  workspaceFolder: vscode.WorkspaceFolder;
  /** Explicit text to render (else what the prompt quotes) and per-job overrides of the settings. */
  text?: string;
  candidates?: number;
  exactFallback?: boolean;
}

export interface PlacedImage {
  path: string;
  seed: number;
  parameters: string;
  legibility?: ImageLegibility;
}

export function shortPrompt(prompt: string, max = 40): string {
  return prompt.length > max ? `${prompt.slice(0, max - 1)}…` : prompt;
}

/** The output folder inside the workspace, or undefined after telling the user what is wrong with the setting. */
export async function outputFolderOrExplain(root: string, setting: string): Promise<string | undefined> {
  try {
    return await resolveOutputFolder(root, setting);
  } catch (error) {
    if (!(error instanceof OutputPathError)) throw error;
    const choice = await vscode.window.showErrorMessage(`Letterpress: ${error.message}`, 'Open Settings');
    if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'letterpress.outputFolder');
    return undefined;
  }
}

/** Generates and places the image; undefined when cancelled or failed (the user has been told). */
export async function generateIntoWorkspace(services: LetterpressServices, request: ImageJobRequest): Promise<PlacedImage[] | undefined> {
  const settings = readSettings(request.workspaceFolder.uri);
  const root = request.workspaceFolder.uri.fsPath;
  const outputFolder = await outputFolderOrExplain(root, settings.outputFolder);
  if (outputFolder === undefined) return undefined;

  let modelDir: string | undefined;
  try {
    modelDir = await services.models.ensure();
  } catch (error) {
    reportFailure(services, error);
    return undefined;
  }
  if (!modelDir) return undefined;

  const options: GenerateOptions = {
    modelDir,
    prompt: request.prompt,
    negativePrompt: request.negativePrompt ?? '',
    steps: settings.steps,
    guidanceScale: settings.guidanceScale,
    ...(settings.scheduler ? { scheduler: settings.scheduler } : {}),
    width: request.width,
    height: request.height,
    seed: settings.seed ?? randomInt(limits.seed.min, limits.seed.max + 1),
    numImages: 1,
    device: settings.device,
    fp16: settings.fp16,
  };

  const legibility = legibilityOptionsFor(
    { prompt: request.prompt, text: request.text, candidates: request.candidates, exactFallback: request.exactFallback, numImages: options.numImages },
    settings,
  );
  const tempDir = await mkdtemp(join(tmpdir(), 'letterpress-'));
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Letterpress: “${shortPrompt(request.prompt)}”`, cancellable: true },
      (progress, cancellation) => runJob(services, { options, outputDir: tempDir, ...(legibility ? { legibility } : {}) }, progress, cancellation),
    );
    if (!result) return undefined;
    services.statusBar.setProvider(result.provider, result.providerNote);
    services.log.info(`Generated ${result.images.length} image(s) on ${result.provider}: ${JSON.stringify(result.timingsMs)}`);
    // Checked again: the folder may have been replaced by a link while the job ran.
    const folder = await resolveOutputFolder(root, settings.outputFolder);
    const baseName = outputBaseName(request.prompt, request.presetName);
    const paths = await placeGeneratedImages(result, folder, baseName);
    const placed = result.images.map((image, i): PlacedImage => ({
      path: paths.images[i]!,
      seed: image.seed,
      parameters: image.parameters,
      ...(image.legibility ? { legibility: image.legibility } : {}),
    }));
    reportResult(services, root, placed, paths.candidates.length);
    return placed;
  } catch (error) {
    reportFailure(services, error);
    return undefined;
  } finally {
    await rm(tempDir, { recursive: true, force: true }).catch(() => {});
  }
}

async function runJob(
  services: LetterpressServices,
  params: Omit<GenerateImageParams, 'jobId'>,
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  cancellation: vscode.CancellationToken,
): Promise<GenerateImageResult | undefined> {
  const { options } = params;
  const job = services.jobs.generate(shortPrompt(options.prompt), params);
  cancellation.onCancellationRequested(() => job.cancel());
  const ahead = services.jobs.jobs.findIndex((j) => j.id === job.id);
  if (ahead > 0) progress.report({ message: `waiting for ${ahead} job${ahead > 1 ? 's' : ''} to finish` });
  let done = 0;
  // Images the job will make: numImages, or the candidates once the runtime says how many.
  let images = options.numImages ?? 1;
  const what = (image: number) => (images > 1 ? `${params.legibility && options.numImages === 1 ? 'candidate' : 'image'} ${image + 1}/${images}, ` : '');
  job.onProgress((event) => {
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
  });
  try {
    return await job.result;
  } catch (error) {
    if (isRuntimeError(error, 'cancelled')) {
      void vscode.window.showInformationMessage('Letterpress: image generation cancelled.');
      return undefined;
    }
    throw error;
  }
}

/** The result notification: where the image went and, for quoted text, how well it reads. */
function reportResult(services: LetterpressServices, root: string, placed: PlacedImage[], candidates: number): void {
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

function reportFailure(services: LetterpressServices, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  services.log.error(`Image generation failed: ${message}${isRuntimeError(error) && error.detail ? `\n${error.detail}` : ''}`);
  const actions = isRuntimeError(error, 'unavailable') ? ['Restart Runtime', 'Show Log'] : ['Show Log'];
  void vscode.window.showErrorMessage(`Letterpress: image generation failed: ${message}`, ...actions).then((choice) => {
    if (choice === 'Show Log') services.log.show();
    if (choice === 'Restart Runtime') void vscode.commands.executeCommand('letterpress.restartRuntime');
  });
}
