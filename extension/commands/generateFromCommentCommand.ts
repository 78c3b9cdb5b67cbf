// "Letterpress: Generate Image from Comment": the comment under the cursor becomes the prompt; the
// image's reference goes in right after the comment, as one undoable edit. Also keeps the
// `letterpress.cursorInComment` context key (menus) and the CodeLens above `image:` comments.
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { findCommentAt, imageRequestAt, type CommentImageRequest } from '../comments/commentParser.ts';
import { generateWithNotification } from '../jobs/jobNotification.ts';
import { checkSize } from '../jobs/imagePresets.ts';
import { referenceText } from '../workspace/referenceInsertion.ts';
import type { LetterpressServices } from '../services.ts';
import { readSettings } from '../settings.ts';
import { relativeReference } from '../workspace/workspacePaths.ts';

const defaultSize = { width: 512, height: 512 };

export function registerGenerateFromCommentCommand(context: vscode.ExtensionContext, services: LetterpressServices): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('letterpress.generateFromComment', (uri?: vscode.Uri, line?: number) => generateFromComment(services, uri, line)),
    registerCommentContextKey(),
    vscode.languages.registerCodeLensProvider({ scheme: 'file' }, new ImageCommentCodeLens()),
  );
}

async function generateFromComment(services: LetterpressServices, uri?: vscode.Uri, line?: number): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Letterpress: generating from comments is disabled in Restricted Mode. Trust this workspace to use it.', 'Manage Trust').then((c) => {
      if (c) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return;
  }
  const document = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
  const editor = vscode.window.activeTextEditor;
  if (!document) {
    void vscode.window.showErrorMessage('Letterpress: put the cursor in a comment that describes the image.');
    return;
  }
  const position = line !== undefined ? new vscode.Position(line, 0) : editor?.selection.active;
  const lines = documentLines(document);
  const request = position && imageRequestAt(lines, document.languageId, position.line, position.character);
  if (!request) {
    void vscode.window.showErrorMessage('Letterpress: the cursor is not in a comment with a description, e.g. // image 1024x256: a banner that says "Hello"');
    return;
  }
  const workspaceFolder = vscode.workspace.getWorkspaceFolder(document.uri) ?? vscode.workspace.workspaceFolders?.[0];
  if (!workspaceFolder) {
    void vscode.window.showErrorMessage('Letterpress: open a folder first; generated images are saved inside the workspace.');
    return;
  }
  let size = defaultSize;
  if (request.width !== undefined && request.height !== undefined) {
    const checked = checkSize(request.width, request.height);
    if ('error' in checked) {
      void vscode.window.showErrorMessage(`Letterpress: ${checked.error}`);
      return;
    }
    size = checked;
  }
  const placed = await generateWithNotification(services, { prompt: request.prompt, ...size, workspaceFolder });
  const image = placed?.[0];
  if (!image) return;
  await insertReference(document, request, image.path, workspaceFolder);
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(image.path), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
}

async function insertReference(document: vscode.TextDocument, request: CommentImageRequest, imagePath: string, folder: vscode.WorkspaceFolder): Promise<void> {
  // The user may have edited the file while the image was generated: find the comment again.
  const lines = documentLines(document);
  let comment = findCommentAt(lines, document.languageId, request.comment.startLine, request.comment.startCharacter);
  if (comment?.text !== request.comment.text) {
    comment = undefined;
    for (let i = 0; i < lines.length && !comment; i++) {
      const candidate = findCommentAt(lines, document.languageId, i, lines[i]!.length);
      if (candidate?.text === request.comment.text) comment = candidate;
    }
  }
  const baseDir = document.uri.scheme === 'file' ? dirname(document.uri.fsPath) : folder.uri.fsPath;
  const text = referenceText({
    languageId: document.languageId,
    relativePath: relativeReference(baseDir, imagePath),
    alt: request.prompt,
    indent: comment?.indent ?? request.comment.indent,
  });
  if (!comment) {
    void vscode.window.showWarningMessage(`Letterpress: the comment changed while the image was generated, so no reference was inserted. Image: ${imagePath}`);
    return;
  }
  const endLine = document.lineAt(comment.endLine);
  const edit = new vscode.WorkspaceEdit();
  edit.insert(document.uri, endLine.range.end, `${document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n'}${text}`);
  await vscode.workspace.applyEdit(edit);
}

function documentLines(document: vscode.TextDocument): string[] {
  return document.getText().split(/\r?\n/);
}

function registerCommentContextKey(): vscode.Disposable {
  let timer: NodeJS.Timeout | undefined;
  let last: boolean | undefined;
  const update = (): void => {
    timer = undefined;
    const editor = vscode.window.activeTextEditor;
    let inComment = false;
    if (editor && editor.document.lineCount < 50_000) {
      const active = editor.selection.active;
      inComment = findCommentAt(documentLines(editor.document), editor.document.languageId, active.line, active.character) !== undefined;
    }
    if (inComment !== last) {
      last = inComment;
      void vscode.commands.executeCommand('setContext', 'letterpress.cursorInComment', inComment);
    }
  };
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(update, 80);
  };
  update();
  const subscriptions = [vscode.window.onDidChangeTextEditorSelection(schedule), vscode.window.onDidChangeActiveTextEditor(schedule)];
  return { dispose: () => subscriptions.forEach((s) => s.dispose()) };
}

const imageMarkerLine = /(?:^|[^\w])@?(?:image|img)\b\s*(?:[\[(]?\s*\d+\s*[x×]\s*\d+\s*[\])]?)?\s*:/i;

class ImageCommentCodeLens implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.isTrusted || !readSettings(document.uri).codeLens || document.lineCount > 20_000) return [];
    const lines = documentLines(document);
    const lenses: vscode.CodeLens[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < lines.length; i++) {
      if (!imageMarkerLine.test(lines[i]!)) continue;
      const column = lines[i]!.search(imageMarkerLine);
      const request = imageRequestAt(lines, document.languageId, i, Math.max(0, column) + 1);
      if (!request || seen.has(request.comment.startLine)) continue;
      seen.add(request.comment.startLine);
      lenses.push(
        new vscode.CodeLens(new vscode.Range(request.comment.startLine, 0, request.comment.startLine, 0), {
          title: '$(file-media) Generate image',
          command: 'letterpress.generateFromComment',
          arguments: [document.uri, i],
          tooltip: request.prompt,
        }),
      );
    }
    return lenses;
  }
}
