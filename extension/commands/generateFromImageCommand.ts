// "Letterpress: Generate from Image…" (the Explorer's context menu on a PNG, JPEG or WebP, or the
// palette with such an image open): image-to-image from a workspace image. The prompt is prefilled
// from the image's own parameters when it has them; then strength and count; the job runs like
// Generate Image… (jobs/jobFlow.ts: checks, queue, progress notification with Cancel, placement in
// the output folder) and the first image opens.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { parseGenerationParameters } from '../../runtime/png/generationParameters.ts';
import { defaultStrength } from '../../runtime/protocol/generationTypes.ts';
import { limits, startImageOutputSize } from '../../runtime/protocol/limits.ts';
import { inspectImageRequest, isRuntimeError } from '../../runtime/protocol/runtimeProtocol.ts';
import { sharedPngMetadataReader } from '../gallery/pngMetadataReader.ts';
import { generateWithNotification } from '../jobs/jobNotification.ts';
import { askStrength } from '../jobs/startImageInput.ts';
import type { LetterpressServices } from '../services.ts';
import { isInside } from '../workspace/workspacePaths.ts';

export const generateFromImageCommand = 'letterpress.generateFromImage';

/** Files image-to-image starts from (sharp reads them in the runtime). */
const startImagePattern = /\.(?:png|jpe?g|webp)$/i;

export function registerGenerateFromImageCommand(context: vscode.ExtensionContext, services: LetterpressServices): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(generateFromImageCommand, (resource?: unknown) => generateFromImageFlow(services, resource instanceof vscode.Uri ? resource : undefined)),
  );
}

/** The image shown in the active editor tab (VS Code's image preview), if it is one to start from. */
function activeStartImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom && input.uri.scheme === 'file' && startImagePattern.test(input.uri.path) ? input.uri : undefined;
}

async function pickStartImage(resource: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
  if (resource) return resource;
  const active = activeStartImage();
  if (active) return active;
  const root = vscode.workspace.workspaceFolders?.[0];
  const picked = await vscode.window.showOpenDialog({
    title: 'Letterpress: Generate from Image',
    openLabel: 'Start from This Image',
    canSelectMany: false,
    filters: { Images: ['png', 'jpg', 'jpeg', 'webp'] },
    ...(root ? { defaultUri: root.uri } : {}),
  });
  return picked?.[0];
}

async function generateFromImageFlow(services: LetterpressServices, resource: vscode.Uri | undefined): Promise<void> {
  const image = await pickStartImage(resource);
  if (!image) return;
  const name = basename(image.fsPath);
  if (image.scheme !== 'file' || !startImagePattern.test(image.fsPath)) {
    void vscode.window.showErrorMessage(`Letterpress: ${name} is not a PNG, JPEG or WebP file on this machine.`);
    return;
  }
  const workspaceFolder = vscode.workspace.getWorkspaceFolder(image);
  if (!workspaceFolder || !isInside(workspaceFolder.uri.fsPath, image.fsPath)) {
    void vscode.window.showErrorMessage(`Letterpress: ${name} is outside the workspace; open its folder, or copy the image into the workspace first.`);
    return;
  }
  // Read (bounded, in the runtime) before asking anything: a damaged or huge file is said at once.
  let size: { width: number; height: number };
  try {
    size = await services.supervisor.request(inspectImageRequest, { path: image.fsPath });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    void vscode.window.showErrorMessage(`Letterpress: cannot start from ${name}: ${message}`);
    if (!isRuntimeError(error, 'userError')) services.log.error(`Generate from Image: inspecting ${image.fsPath} failed: ${message}`);
    return;
  }
  void services.models.locate().catch(() => undefined);

  // The prompt (and negative prompt) the image was made with, when it carries them.
  const chunks: Record<string, string> = /\.png$/i.test(image.fsPath)
    ? await sharedPngMetadataReader().read(image.fsPath, ['parameters']).catch(() => ({}))
    : {};
  const own = chunks.parameters ? parseGenerationParameters(chunks.parameters) : undefined;
  const prompt = await vscode.window.showInputBox({
    title: `Letterpress: Generate from ${name} (1/3)`,
    prompt: 'Describe the image to make from it; put the text it should show in quotes',
    placeHolder: 'a neon sign that says "OPEN 24/7"',
    value: own?.prompt ?? '',
    ignoreFocusOut: true,
    validateInput: (value) => (!value.trim() ? 'Enter a prompt.' : value.length > limits.prompt.maxChars ? `At most ${limits.prompt.maxChars} characters.` : undefined),
  });
  if (!prompt?.trim()) return;
  const strength = await askStrength(`Letterpress: Generate from ${name} (2/3)`, defaultStrength);
  if (strength === undefined) return;
  const counts = [1, 2, 4].filter((n) => n <= limits.numImages.max);
  const count = await vscode.window.showQuickPick(
    counts.map((n) => ({ label: n === 1 ? '1 image' : `${n} images`, n })),
    { title: `Letterpress: Generate from ${name} (3/3)`, placeHolder: 'How many images', ignoreFocusOut: true },
  );
  if (!count) return;

  const output = startImageOutputSize(size);
  const placed = await generateWithNotification(services, {
    prompt: prompt.trim(),
    negativePrompt: own?.negativePrompt ?? '',
    width: output.width,
    height: output.height,
    numImages: count.n,
    startImage: { path: image.fsPath, strength },
    workspaceFolder,
  });
  if (placed?.[0]) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(placed[0].path));
}
