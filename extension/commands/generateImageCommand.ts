// "Letterpress: Generate Image…": preset → prompt (with a token-count warning) → negative prompt →
// image in the output folder, opened.
import { limits } from '../../runtime/protocol/limits.ts';
import * as vscode from 'vscode';
import { generateWithNotification } from '../jobs/jobNotification.ts';
import { imagePresets, parseSize } from '../jobs/imagePresets.ts';
import type { LetterpressServices } from '../services.ts';

export function activeWorkspaceFolder(): vscode.WorkspaceFolder | undefined {
  const uri = vscode.window.activeTextEditor?.document.uri;
  return (uri && vscode.workspace.getWorkspaceFolder(uri)) ?? vscode.workspace.workspaceFolders?.[0];
}

export function registerGenerateImageCommand(context: vscode.ExtensionContext, services: LetterpressServices): void {
  context.subscriptions.push(vscode.commands.registerCommand('letterpress.generateImage', () => generateImageFlow(services)));
}

interface PresetItem extends vscode.QuickPickItem {
  name: string;
  width?: number;
  height?: number;
}

async function generateImageFlow(services: LetterpressServices): Promise<void> {
  const workspaceFolder = activeWorkspaceFolder();
  if (!workspaceFolder) {
    void vscode.window.showErrorMessage('Letterpress: open a folder first; generated images are saved inside the workspace.');
    return;
  }
  // Start the runtime and look for the model while the user picks and types.
  void services.models.locate().catch(() => undefined);

  const items: PresetItem[] = [
    ...imagePresets.map((p) => ({ label: `${p.name} (${p.width}×${p.height})`, description: p.detail, name: p.name, width: p.width, height: p.height })),
    { label: 'Custom…', description: 'Any width×height in multiples of 8', name: 'Custom' },
  ];
  const preset = await vscode.window.showQuickPick(items, { title: 'Letterpress: Generate Image (1/3)', placeHolder: 'Image size', ignoreFocusOut: true });
  if (!preset) return;
  let width = preset.width;
  let height = preset.height;
  if (width === undefined || height === undefined) {
    const text = await vscode.window.showInputBox({
      title: 'Letterpress: Custom Size',
      prompt: `Width × height in pixels, multiples of ${limits.side.multipleOf} (${limits.side.min}–${limits.side.max})`,
      value: '640x384',
      ignoreFocusOut: true,
      validateInput: (value) => {
        const size = parseSize(value);
        return 'error' in size ? size.error : undefined;
      },
    });
    if (text === undefined) return;
    const size = parseSize(text);
    if ('error' in size) return;
    ({ width, height } = size);
  }

  const prompt = await vscode.window.showInputBox({
    title: 'Letterpress: Generate Image (2/3)',
    prompt: 'Describe the image; put the text it should show in quotes, e.g. a neon sign that says "OPEN 24/7"',
    placeHolder: 'a neon sign that says "OPEN 24/7"',
    ignoreFocusOut: true,
    validateInput: async (value) => {
      if (!value.trim()) return 'Enter a prompt.';
      const tokens = await services.models.countTokens(value);
      if (tokens && tokens.count > tokens.limit) {
        return {
          message: `${tokens.count}/${tokens.limit} tokens: the model reads only the first ${tokens.limit}; the rest is ignored. Shorten the prompt.`,
          severity: vscode.InputBoxValidationSeverity.Warning,
        };
      }
      return undefined;
    },
  });
  if (!prompt?.trim()) return;
  const negativePrompt = await vscode.window.showInputBox({
    title: 'Letterpress: Generate Image (3/3)',
    prompt: 'Negative prompt (optional): what the image should not show. Press Enter to skip.',
    placeHolder: 'blurry, misspelled text',
    ignoreFocusOut: true,
  });
  if (negativePrompt === undefined) return;

  const placed = await generateWithNotification(services, {
    prompt: prompt.trim(),
    negativePrompt: negativePrompt.trim(),
    width,
    height,
    presetName: preset.name === 'Custom' ? undefined : preset.name,
    workspaceFolder,
  });
  if (placed?.[0]) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(placed[0].path));
}
