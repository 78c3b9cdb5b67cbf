// Which image a command works on: the one clicked in the Explorer, else the PNG open in the active
// editor tab (VS Code's image preview), else one the user picks, starting in the output folder.
import * as vscode from 'vscode';
import { readSettings } from './settings.ts';

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
