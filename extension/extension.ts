import type * as vscode from 'vscode';
import { registerGallery } from './gallery/registerGallery.ts';

export function activate(context: vscode.ExtensionContext): void {
  registerGallery(context);
}

export function deactivate(): void {}
