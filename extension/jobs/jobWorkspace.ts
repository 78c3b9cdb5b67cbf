// A VS Code workspace folder as a job (jobFlow.ts, which is free of `vscode`) sees it.
import * as vscode from 'vscode';
import { readSettings } from '../settings.ts';
import type { JobWorkspace } from './jobFlow.ts';

/** Its path, the settings that apply there, every workspace folder and whether the workspace is trusted. */
export function jobWorkspace(folder: vscode.WorkspaceFolder): JobWorkspace {
  return {
    root: folder.uri.fsPath,
    settings: readSettings(folder.uri),
    roots: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    trusted: vscode.workspace.isTrusted,
  };
}
