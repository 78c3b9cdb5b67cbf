// "Letterpress: Draw Exact Text on Image…": the exact-text fallback for an image that already exists
// (from the palette with the active image or a file picker, the Explorer's context menu, the result
// notification and the gallery's "Fix text"). Asks for the text, prefilled with what the image was
// meant to say, runs the drawing (jobs/jobFlow.ts) with a cancellable progress notification, which
// places `<stem>-text.png` next to the original (never replacing a file), then opens it.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { normaliseTargetText } from '../../runtime/protocol/targetText.ts';
import { sharedPngMetadataReader } from '../gallery/pngMetadataReader.ts';
import { letterpressChunkKey } from '../../runtime/png/letterpressRecord.ts';
import { checkTypedTarget, intendedText, targetForInputBox } from '../jobs/drawTextFlow.ts';
import { drawWithNotification } from '../jobs/jobNotification.ts';
import type { LetterpressServices } from '../services.ts';
import { pickWorkspaceImage } from './imagePicker.ts';

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
  const placed = await drawWithNotification(services, { imagePath: image.fsPath, target, workspaceFolder });
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
    .read(image.fsPath, ['parameters', letterpressChunkKey])
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
