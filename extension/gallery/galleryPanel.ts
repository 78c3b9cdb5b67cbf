// The gallery webview panel on the host side: serves the page, answers the webview's messages
// (after validating them), keeps the image list in step with the disk and forwards jobs.
import * as vscode from 'vscode';
import { basename, relative, resolve, sep } from 'node:path';
import { readRegularFile } from '../../runtime/files/readRegularFile.ts';
import { startImageOutputSize } from '../../runtime/protocol/limits.ts';
import { askStrength } from '../jobs/startImageInput.ts';
import { defaultVariationStrength } from '../../runtime/protocol/generationTypes.ts';
import { defaultOutputFolder, readSettings } from '../settings.ts';
import { resolveInside, workspaceFile } from '../workspace/workspacePaths.ts';
import { askTextToDraw, drawExactTextCommand } from '../commands/drawExactTextCommand.ts';
import { imagePresets } from '../jobs/imagePresets.ts';
import { GalleryIndex } from './galleryIndex.ts';
import type { IndexedImage } from './galleryIndex.ts';
import { GalleryJobs } from './galleryJobs.ts';
import type { GalleryJobBackend } from './galleryJobs.ts';
import { ThumbnailCache } from './thumbnailCache.ts';
import { galleryHtml } from './galleryHtml.ts';
import type { GalleryMenuCommand } from './galleryMenuCommands.ts';
import {
  CancelJob,
  ChooseStartImage,
  CountTokens,
  ImagesChanged,
  InitState,
  JobUpdated,
  PanelReady,
  RunImageAction,
  RunWebviewImageCommand,
  StartImageChosen,
  SubmitJob,
  TokensCounted,
  generationLimits,
  parseMessage,
  promptTokenLimit,
  webviewToHost,
} from '../../webview/protocol.ts';
import type { ChooseStartImageParams, GalleryConfig, GalleryImage, HostToWebviewMessage, ImageAction, SchedulerOption } from '../../webview/protocol.ts';
import { samplerDisplayName, schedulerNames } from '../../runtime/protocol/generationTypes.ts';
import { schedulerForA1111Sampler } from '../../runtime/png/a1111Samplers.ts';
import type { SchedulerName } from '../../runtime/protocol/generationTypes.ts';

export const galleryViewType = 'letterpress.gallery';
const galleryPollMs = 5000;
/** The first count starts the runtime and finds the model, which can outlast the host's wait. */
const tokenCountRetries = 3;
/** A start image larger than this is not sent to the page to draw on (it is still a fine start image from the command). */
const maxPreviewBytes = 16 * 1024 * 1024;

/** What the rest of the extension lends the gallery; each part may be missing (then it is disabled). */
export interface GalleryServices {
  /** Runs generation jobs and writes their images into the output folder. */
  jobs?: GalleryJobBackend;
  /** The size of an image file (the runtime reads it, bounded); rejects with a message for a bad file. */
  inspectImage?(path: string): Promise<{ width: number; height: number }>;
  /** Undefined when it cannot count now (no model on disk yet). */
  countTokens?(text: string): Promise<{ count: number; limit: number } | undefined>;
  /** The text that references `image` from `document` (Markdown `![]()`, HTML `<img>`, …). */
  referenceFor?(document: vscode.TextDocument, image: vscode.Uri, altText: string): string;
  log?: vscode.LogOutputChannel;
  /** Asks for a preset and exports the image (runtime/image/export). */
  exportImage?(request: { imagePath: string; workspaceRoot: string; outputFolder: string }): Promise<void>;
}

/** The editor the user last typed in: the webview takes focus, so activeTextEditor is gone by then. */
export class LastEditorTracker implements vscode.Disposable {
  private last: { document: vscode.TextDocument; selection: vscode.Selection; viewColumn?: vscode.ViewColumn } | undefined;
  private readonly subscriptions: vscode.Disposable[];

  constructor() {
    this.remember(vscode.window.activeTextEditor);
    this.subscriptions = [
      vscode.window.onDidChangeActiveTextEditor((editor) => this.remember(editor)),
      vscode.window.onDidChangeTextEditorSelection((event) => {
        if (event.textEditor.document === this.last?.document) this.remember(event.textEditor);
      }),
    ];
  }

  private remember(editor: vscode.TextEditor | undefined): void {
    // Output panes and the like are editors too, but no place for an image reference.
    if (!editor || (editor.document.uri.scheme !== 'file' && editor.document.uri.scheme !== 'untitled')) return;
    this.last = { document: editor.document, selection: editor.selection, viewColumn: editor.viewColumn };
  }

  /**
   * An editor on the last document, with its cursor where the user left it. When the panel covers
   * that editor (same editor group), the document is shown again first.
   */
  async get(): Promise<vscode.TextEditor | undefined> {
    const last = this.last;
    if (!last || last.document.isClosed) return undefined;
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === last.document);
    if (visible) return visible;
    return vscode.window.showTextDocument(last.document, { viewColumn: last.viewColumn, selection: last.selection, preserveFocus: false });
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
  }
}

interface OutputLocation {
  workspaceFolder: vscode.WorkspaceFolder;
  /** Relative to the workspace folder, forward slashes. */
  relativePath: string;
  uri: vscode.Uri;
}

/**
 * The output folder inside the first workspace folder (readSettings already ignores a custom one in
 * Restricted Mode). A setting that leaves the workspace shows the default folder; generating then
 * fails with the host's message saying how to fix the setting.
 */
export function resolveOutputLocation(): OutputLocation | undefined {
  const workspaceFolder = vscode.workspace.workspaceFolders?.[0];
  if (!workspaceFolder) return undefined;
  const root = workspaceFolder.uri.fsPath;
  let full: string;
  try {
    full = resolveInside(root, readSettings(workspaceFolder.uri).outputFolder);
  } catch {
    full = resolveInside(root, defaultOutputFolder);
  }
  const rel = relative(root, full).split(sep).join('/');
  return { workspaceFolder, relativePath: rel, uri: vscode.Uri.file(full) };
}

export class GalleryPanel implements vscode.Disposable {
  static current: GalleryPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private index: GalleryIndex | undefined;
  private location: OutputLocation | undefined;
  private watcher: vscode.FileSystemWatcher | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  /** What the webview was last sent, so a poll that finds nothing new sends nothing. */
  private sentSignature = '';
  private refreshing: Promise<void> = Promise.resolve();
  private readonly thumbnails: ThumbnailCache;
  private disposed = false;

  static show(context: vscode.ExtensionContext, services: GalleryServices, editors: LastEditorTracker, jobs: GalleryJobs | undefined): GalleryPanel {
    if (GalleryPanel.current) {
      GalleryPanel.current.panel.reveal();
      return GalleryPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(galleryViewType, 'Letterpress Gallery', vscode.ViewColumn.Active, {});
    return new GalleryPanel(panel, context, services, editors, jobs);
  }

  /** Used by the serializer after a reload, with the panel VS Code kept. */
  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, services: GalleryServices, editors: LastEditorTracker, jobs: GalleryJobs | undefined): GalleryPanel {
    GalleryPanel.current?.dispose();
    return new GalleryPanel(panel, context, services, editors, jobs);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    private readonly services: GalleryServices,
    private readonly editors: LastEditorTracker,
    private readonly jobs: GalleryJobs | undefined,
  ) {
    GalleryPanel.current = this;
    this.thumbnails = new ThumbnailCache(vscode.Uri.joinPath(context.globalStorageUri, 'thumbnails').fsPath);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'gallery-icon.svg');
    this.configure();
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
    panel.onDidChangeViewState(() => this.updatePolling(), undefined, this.disposables);
    this.updatePolling();
    panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message), undefined, this.disposables);
    if (jobs) this.disposables.push(jobs.onDidUpdate((job) => {
      this.post(JobUpdated.create({ job }));
      if (job.state === 'done') {
        this.scheduleRefresh(0);
        // The walkthrough's "Generate a first image" and "Fix text" steps tick on these.
        void vscode.commands.executeCommand('setContext', job.kind === 'drawText' ? 'letterpress.textFixed' : 'letterpress.imageGenerated', true);
      }
    }));
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('letterpress.outputFolder')) this.configure();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.configure()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.configure()),
    );
  }

  /** (Re)reads the output folder setting: roots, watcher, page, index. */
  private configure(): void {
    this.location = resolveOutputLocation();
    const extensionUri = this.context.extensionUri;
    const roots = [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.file(this.thumbnails.folder)];
    if (this.location) roots.push(this.location.uri);
    const webview = this.panel.webview;
    // No command URIs: a link in the page must not be able to run commands.
    webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: roots };
    webview.html = galleryHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'gallery.css')).toString(),
      codiconUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'codicons', 'codicon.css')).toString(),
    });
    this.watcher?.dispose();
    this.watcher = undefined;
    this.index = undefined;
    if (this.location) {
      this.index = new GalleryIndex({
        workspaceRoot: this.location.workspaceFolder.uri.fsPath,
        outputFolder: this.location.uri.fsPath,
        schedulerForSampler: schedulerForA1111Sampler,
      });
      const pattern = new vscode.RelativePattern(this.location.workspaceFolder, `${this.location.relativePath}/**/*.png`);
      this.watcher = vscode.workspace.createFileSystemWatcher(pattern);
      const onChange = () => this.scheduleRefresh(150);
      this.watcher.onDidCreate(onChange);
      this.watcher.onDidChange(onChange);
      this.watcher.onDidDelete(onChange);
    }
    // The page reloads with the new html and says ready again; the state goes out then.
  }

  private samplerLabel(name: SchedulerName): string {
    return samplerDisplayName(name);
  }

  private config(): GalleryConfig {
    const settings = readSettings(this.location?.workspaceFolder.uri);
    const schedulers: SchedulerOption[] = schedulerNames.map((name) => ({ name, label: this.samplerLabel(name) }));
    let reason: string | undefined;
    if (!this.location) reason = 'Open a folder to generate images into it.';
    else if (!this.jobs) reason = 'The Letterpress runtime is not available in this window.';
    return {
      outputFolder: this.location?.relativePath ?? defaultOutputFolder,
      presets: imagePresets.map((p) => ({ id: `${p.width}x${p.height}`, label: `${p.name} ${p.width}×${p.height}`, width: p.width, height: p.height })),
      defaults: {
        steps: settings.steps,
        guidanceScale: settings.guidanceScale,
        ...(settings.scheduler ? { scheduler: settings.scheduler } : {}),
        // A hand-edited setting out of range must not make the page drop the whole state.
        candidates: Math.min(Math.max(Math.round(settings.candidates) || 0, 0), generationLimits.maxCandidates),
        exactFallback: settings.exactTextFallback,
        checkText: settings.checkText,
      },
      schedulers,
      canGenerate: reason === undefined,
      ...(reason ? { reason } : {}),
    };
  }

  private post(message: HostToWebviewMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(message);
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parseMessage(webviewToHost, raw);
    if (!message) {
      this.services.log?.warn(`gallery: dropped an unknown or malformed message from the webview`);
      return;
    }
    try {
      switch (message.method) {
        case PanelReady.method: {
          const images = await this.refreshNow();
          this.sentSignature = images.map((i) => `${i.id}\0${i.mtimeMs}\0${i.size}`).join('\n');
          this.post(InitState.create({ config: this.config(), images, jobs: this.jobs?.list() ?? [] }));
          break;
        }
        case CountTokens.method: {
          const { requestId, text } = message.params;
          let counted = await this.services.countTokens?.(text);
          for (let attempt = 1; !counted && this.services.countTokens && attempt <= tokenCountRetries && !this.disposed; attempt++) {
            await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
            counted = await this.services.countTokens(text);
          }
          if (!counted) break;
          this.post(TokensCounted.create({ requestId, count: counted.count, limit: counted.limit || promptTokenLimit }));
          break;
        }
        case SubmitJob.method:
          if (!this.jobs || !this.location) {
            void vscode.window.showErrorMessage(this.config().reason ?? 'Generating is not available.');
            break;
          }
          this.jobs.submit(message.params.request);
          break;
        case ChooseStartImage.method:
          await this.chooseStartImage(message.params);
          break;
        case CancelJob.method:
          this.jobs?.cancel(message.params.jobId);
          break;
        case RunImageAction.method:
          await this.runImageAction(message.params.id, message.params.action);
          break;
      }
    } catch (error) {
      this.services.log?.error(`gallery: ${message.method} failed: ${error instanceof Error ? error.stack : String(error)}`);
      void vscode.window.showErrorMessage(`Letterpress: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * A command from the card's context menu. VS Code passes the card's `data-vscode-context`, which
   * the page wrote: the id is checked against the index like any id from the page.
   */
  async runMenuCommand(command: GalleryMenuCommand, context: unknown): Promise<void> {
    const id = typeof context === 'object' && context !== null ? (context as { letterpressImageId?: unknown }).letterpressImageId : undefined;
    if (typeof id !== 'string') return;
    try {
      if (command === 'regenerate' || command === 'vary') {
        if (!this.index?.get(id)) return void vscode.window.showWarningMessage(`Letterpress: ${id} is no longer in the gallery.`);
        this.post(RunWebviewImageCommand.create({ id, command }));
        return;
      }
      await this.runImageAction(id, command === 'fixText' ? 'drawText' : command);
    } catch (error) {
      this.services.log?.error(`gallery: ${command} failed: ${error instanceof Error ? error.stack : String(error)}`);
      void vscode.window.showErrorMessage(`Letterpress: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async runImageAction(id: string, action: ImageAction): Promise<void> {
    // Only images the index knows: the id from the page never becomes a path by itself.
    const image = this.index?.get(id);
    if (!image) {
      void vscode.window.showWarningMessage(`Letterpress: ${id} is no longer in the gallery.`);
      this.scheduleRefresh(0);
      return;
    }
    const uri = vscode.Uri.file(image.path);
    switch (action) {
      case 'open':
        await vscode.commands.executeCommand('vscode.open', uri);
        break;
      case 'reveal':
        await vscode.commands.executeCommand('revealInExplorer', uri);
        break;
      case 'copyPath':
        await vscode.env.clipboard.writeText(image.id);
        void vscode.window.setStatusBarMessage(`Copied ${image.id}`, 3000);
        break;
      case 'copyPrompt':
        if (!image.settings?.prompt) {
          void vscode.window.showInformationMessage(`${image.name} has no prompt in its metadata.`);
          break;
        }
        await vscode.env.clipboard.writeText(image.settings.prompt);
        void vscode.window.setStatusBarMessage('Copied the prompt', 3000);
        break;
      case 'insertReference':
        await this.insertReference(image, uri);
        break;
      case 'delete':
        await this.deleteImage(image, uri);
        break;
      case 'export':
        await this.exportImage(image);
        break;
      case 'drawText':
        await this.drawText(image, uri);
        break;
      case 'variations':
        await this.variations(image);
        break;
    }
  }

  /** Variations…: asks how far from the image to go, then the page queues the job (its form holds the count). */
  private async variations(image: IndexedImage): Promise<void> {
    if (!image.settings?.prompt.trim()) {
      void vscode.window.showInformationMessage(`Letterpress: ${image.name} has no prompt in its metadata; open it from Generate from Image… with a prompt instead.`);
      return;
    }
    const strength = await askStrength(`Letterpress: Variations of ${image.name}`, defaultVariationStrength);
    if (strength === undefined) return;
    this.post(RunWebviewImageCommand.create({ id: image.id, command: 'variations', strength }));
  }

  /**
   * The form's Start image: a workspace image the user picks, a gallery card or a file dropped on
   * the form. Only files inside the workspace folder are taken; the page gets the image as a data:
   * URI (the webview may only load the output folder) with its size, to draw the region on.
   */
  private async chooseStartImage(choice: ChooseStartImageParams): Promise<void> {
    const location = this.location;
    if (!location) return;
    const root = location.workspaceFolder.uri.fsPath;
    let path: string | undefined;
    if ('pick' in choice) {
      const picked = await vscode.window.showOpenDialog({
        title: 'Letterpress: Start Image',
        openLabel: 'Start from This Image',
        canSelectMany: false,
        filters: { Images: ['png', 'jpg', 'jpeg', 'webp'] },
        defaultUri: location.uri,
      });
      path = picked?.[0]?.scheme === 'file' ? picked[0].fsPath : undefined;
      if (!path) return;
    } else if ('id' in choice) {
      path = resolve(root, choice.id);
    } else {
      const uri = vscode.Uri.parse(choice.uri, true);
      if (uri.scheme !== 'file') return void vscode.window.showWarningMessage('Letterpress: drop an image file from this workspace.');
      path = uri.fsPath;
    }
    if (!/\.(?:png|jpe?g|webp)$/i.test(path)) {
      void vscode.window.showWarningMessage(`Letterpress: ${basename(path)} is not a PNG, JPEG or WebP image.`);
      return;
    }
    try {
      const real = await workspaceFile(path, [root], 'start image');
      const id = relative(root, real).split(sep).join('/');
      if (!this.services.inspectImage) throw new Error('the Letterpress runtime is not available in this window');
      const size = await this.services.inspectImage(real);
      const data = await readRegularFile(real, maxPreviewBytes, 'start image');
      const type = /\.png$/i.test(real) ? 'png' : /\.webp$/i.test(real) ? 'webp' : 'jpeg';
      const output = startImageOutputSize(size);
      this.post(StartImageChosen.create({ id, name: basename(real), uri: `data:image/${type};base64,${data.toString('base64')}`, ...size, outputWidth: output.width, outputHeight: output.height }));
    } catch (error) {
      void vscode.window.showErrorMessage(`Letterpress: cannot start from ${basename(path)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Asks for the text as the command does, then draws it as a job of the panel's list, which shows
   * `<stem>-text.png` when done. Without the panel's jobs, the command runs it in a notification.
   */
  private async drawText(image: IndexedImage, uri: vscode.Uri): Promise<void> {
    if (!this.jobs?.canDrawText) {
      await vscode.commands.executeCommand(drawExactTextCommand, uri);
      return;
    }
    const target = await askTextToDraw(uri);
    if (target === undefined) return;
    this.jobs.drawText({ source: image.id, path: image.path, target });
  }

  private async exportImage(image: IndexedImage): Promise<void> {
    const location = this.location;
    if (!location) return;
    await this.services.exportImage?.({ imagePath: image.path, workspaceRoot: location.workspaceFolder.uri.fsPath, outputFolder: location.uri.fsPath });
  }

  /** What references `image` from `document`: Markdown `![prompt](path)`, HTML `<img>`, … */
  private referenceText(image: IndexedImage, document: vscode.TextDocument): string {
    const uri = vscode.Uri.file(image.path);
    const alt = (image.settings?.prompt ?? image.name.replace(/\.png$/i, '')).replace(/\s+/g, ' ').trim();
    return this.services.referenceFor?.(document, uri, alt) ?? relativeFrom(document.uri, uri);
  }

  /**
   * The text a card dragged from the page inserts where it is dropped in `document`; undefined for
   * an id the index does not know (the drag data comes from the page, like its messages).
   */
  referenceForDrop(document: vscode.TextDocument, id: string): string | undefined {
    const image = this.index?.get(id);
    return image ? this.referenceText(image, document) : undefined;
  }

  private async insertReference(image: IndexedImage, _uri: vscode.Uri): Promise<void> {
    const editor = await this.editors.get();
    if (!editor) {
      void vscode.window.showWarningMessage('Letterpress: open a file and put the cursor where the image reference should go, then try again.');
      return;
    }
    const text = this.referenceText(image, editor.document);
    const inserted = await editor.edit((edit) => {
      if (editor.selection.isEmpty) edit.insert(editor.selection.active, text);
      else edit.replace(editor.selection, text);
    });
    if (!inserted) throw new Error(`could not edit ${vscode.workspace.asRelativePath(editor.document.uri)}`);
    await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
  }

  private async deleteImage(image: IndexedImage, uri: vscode.Uri): Promise<void> {
    const choice = await vscode.window.showWarningMessage(
      `Delete ${image.name}?`,
      { modal: true, detail: `${image.id} will be moved to the trash.` },
      'Move to Trash',
    );
    if (choice !== 'Move to Trash') return;
    try {
      await vscode.workspace.fs.delete(uri, { useTrash: true });
    } catch (error) {
      // Remote and web hosts may have no trash; never delete for good without asking.
      const permanent = await vscode.window.showWarningMessage(
        `${image.name} could not be moved to the trash. Delete it permanently?`,
        { modal: true, detail: error instanceof Error ? error.message : String(error) },
        'Delete Permanently',
      );
      if (permanent !== 'Delete Permanently') return;
      await vscode.workspace.fs.delete(uri, { useTrash: false });
    }
    this.scheduleRefresh(0);
  }

  private scheduleRefresh(delayMs: number): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refreshNow().then((images) => {
        const signature = images.map((i) => `${i.id}\0${i.mtimeMs}\0${i.size}`).join('\n');
        if (signature === this.sentSignature) return;
        this.sentSignature = signature;
        this.post(ImagesChanged.create({ images }));
      });
    }, delayMs);
  }

  /**
   * File watchers miss changes on some remote, container and network file systems; while the
   * panel is visible a slow poll (stat only: unchanged files are not re-read) catches those.
   */
  private updatePolling(): void {
    const wanted = this.panel.visible && !this.disposed;
    if (wanted && !this.pollTimer) this.pollTimer = setInterval(() => this.scheduleRefresh(0), galleryPollMs);
    if (!wanted && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  /** One refresh at a time; callers get the list as it is after theirs. */
  private refreshNow(): Promise<GalleryImage[]> {
    const run = this.refreshing.then(async () => {
      const indexed = this.index ? await this.index.refresh() : [];
      const images = await Promise.all(indexed.map((image) => this.toGalleryImage(image)));
      void this.thumbnails.prune(indexed).catch(() => undefined);
      return images;
    });
    this.refreshing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async toGalleryImage(image: IndexedImage): Promise<GalleryImage> {
    const webview = this.panel.webview;
    const uri = webview.asWebviewUri(vscode.Uri.file(image.path)).toString();
    const thumb = await this.thumbnails.get(image).catch(() => undefined);
    // The cache key changes with mtime, so the URI changes whenever the image does.
    const thumbnailUri = thumb ? webview.asWebviewUri(vscode.Uri.file(thumb)).toString() : uri;
    return {
      id: image.id,
      name: image.name,
      uri,
      thumbnailUri,
      mtimeMs: image.mtimeMs,
      size: image.size,
      ...(image.settings ? { settings: image.settings } : {}),
      ...(image.legibility ? { legibility: image.legibility } : {}),
      ...(image.source ? { source: image.source } : {}),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (GalleryPanel.current === this) GalleryPanel.current = undefined;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.watcher?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

function relativeFrom(document: vscode.Uri, target: vscode.Uri): string {
  const rel = relative(resolve(document.fsPath, '..'), target.fsPath).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}
