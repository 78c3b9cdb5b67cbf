// Which image a command works on: the one clicked in the Explorer, else the PNG open in the active
// editor tab (VS Code's image preview), else one the user picks, starting in the output folder.
import * as vscode from 'vscode';
import { readSettings } from '../settings.ts';

/** The PNG shown in the active editor tab, if any. */
export function activeImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.uri.scheme === 'file' && /\.png$/i.test(input.uri.path)) return input.uri;
  return undefined;
}

export async function pickImage(resource: unknown, dialog: { title: string; openLabel: string }): Promise<vscode.Uri | undefined> {
  if (resource instanceof vscode.Uri) return resource;
  const active = activeImage();
  if (active) return active;
  const root = vscode.workspace.workspaceFolders?.[0];
  const picked = await vscode.window.showOpenDialog({
    ...dialog,
    canSelectMany: false,
    filters: { 'PNG images': ['png'] },
    ...(root ? { defaultUri: vscode.Uri.joinPath(root.uri, readSettings(root.uri).outputFolder) } : {}),
  });
  return picked?.[0];
}

/**
 * The image a command works on and the workspace folder its result goes into; undefined when the user
 * cancelled or has been told what is missing (a file on this machine, an open folder).
 */
export async function pickWorkspaceImage(
  resource: unknown,
  dialog: { title: string; openLabel: string },
  messages: { notLocal: string; noFolder: string },
): Promise<{ image: vscode.Uri; workspaceFolder: vscode.WorkspaceFolder } | undefined> {
  const image = await pickImage(resource, dialog);
  if (!image) return undefined;
  if (image.scheme !== 'file') {
    void vscode.window.showErrorMessage(`Letterpress: ${messages.notLocal}`);
    return undefined;
  }
  const workspaceFolder = vscode.workspace.getWorkspaceFolder(image) ?? vscode.workspace.workspaceFolders?.[0];
  if (!workspaceFolder) {
    void vscode.window.showErrorMessage(`Letterpress: ${messages.noFolder}`);
    return undefined;
  }
  return { image, workspaceFolder };
}
