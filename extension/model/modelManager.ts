// Finds the model on disk (the `letterpress.model` setting, or the default model in the hub cache)
// and, on first use, offers once to download it, with progress and cancel. The hub token lives in
// SecretStorage.
import { randomUUID } from 'node:crypto';
import { isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import {
  countTokensRequest,
  isRuntimeError,
  planModelRequest,
  resolveModelRequest,
  type CountTokensResult,
  type ModelDownloadPlan,
} from '../../runtime/protocol/runtimeProtocol.ts';
import { downloadSizeText, downloadStatusText, formatEta } from './downloadOffer.ts';
import { formatBytes } from '../../runtime/protocol/byteSize.ts';
import type { JobQueue } from '../runtime/jobQueue.ts';
import type { RuntimeSupervisor } from '../runtime/runtimeSupervisor.ts';
import { readSettings } from '../settings.ts';

export const defaultModelId = 'pbevan11/stable-diffusion-2-typography';
const defaultModelSize = 'about 5.2 GB';
/** The offer waits this long at most for the hub to tell the download's size. */
const sizeLookupMs = 5_000;
const tokenSecretKey = 'letterpress.huggingFaceToken';
/** Context keys: the walkthrough's "Get the model" step completes on the first; the second enables Cancel Model Download. */
const modelReadyContext = 'letterpress.modelReady';
const downloadingContext = 'letterpress.modelDownloading';
export const cancelModelDownloadCommand = 'letterpress.cancelModelDownload';

export class ModelManager {
  private located = new Map<string, Promise<string | undefined>>();
  /** Cancels the download in progress; undefined when none runs. */
  private cancelDownload: (() => void) | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly supervisor: RuntimeSupervisor,
    private readonly jobs: JobQueue,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Drops what was found, e.g. after the `letterpress.model` setting changed. */
  forget(): void {
    this.located.clear();
  }

  /** The model folder if it is already on disk; never downloads, never asks. */
  locate(): Promise<string | undefined> {
    const model = readSettings().model;
    let found = this.located.get(model);
    if (!found) {
      found = this.supervisor
        .request(resolveModelRequest, { jobId: randomUUID(), model: model || undefined, offline: true })
        .then((r) => {
          void vscode.commands.executeCommand('setContext', modelReadyContext, true);
          return r.modelDir;
        })
        .catch((error: unknown) => {
          this.located.delete(model);
          if (isRuntimeError(error, 'modelMissing')) return undefined;
          throw error;
        });
      this.located.set(model, found);
    }
    return found;
  }

  /**
   * The model folder, downloading it after asking when it is missing. Undefined when the user
   * declined or cancelled (they have been told what to do).
   */
  async ensure(options: { ask?: boolean } = {}): Promise<string | undefined> {
    const found = await this.locate();
    if (found) return found;
    const model = readSettings().model;
    if (model && looksLikePath(model)) {
      const choice = await vscode.window.showErrorMessage(
        `Letterpress: the folder "${model}" set in "letterpress.model" is not a usable model folder (it needs model_index.json, tokenizer/, text_encoder/, unet/ and vae/).`,
        'Open Settings',
      );
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'letterpress.model');
      return undefined;
    }
    const repo = model || defaultModelId;
    const plan = await this.planDownload(model || undefined, repo);
    // Complete meanwhile (another window, or a snapshot whose branch ref was never written): nothing to ask.
    if (plan?.bytesToFetch === 0) return this.download(model || undefined, repo);
    const size = downloadSizeText(plan, model ? 'several GB' : defaultModelSize);
    // "Download the Model" in the walkthrough: the user has asked already.
    if (options.ask === false) return this.download(model || undefined, repo);
    const choice = await vscode.window.showInformationMessage(
      `Letterpress needs the model ${repo} (${size}). Download it now?`,
      'Download',
      'Use Local Folder…',
    );
    if (choice === 'Use Local Folder…') return (await this.useLocalFolder()) ? this.ensure() : undefined;
    if (choice !== 'Download') return undefined;
    return this.download(model || undefined, repo);
  }

  /**
   * Asks for a model folder in the diffusers layout and stores it in `letterpress.model` (user
   * settings). True when one was picked.
   */
  async useLocalFolder(): Promise<boolean> {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      openLabel: 'Use as Letterpress model',
      title: 'Letterpress: a model folder in the diffusers layout (model_index.json, unet/, vae/, text_encoder/, tokenizer/)',
    });
    if (!picked?.[0]) return false;
    await vscode.workspace.getConfiguration('letterpress').update('model', picked[0].fsPath, vscode.ConfigurationTarget.Global);
    this.forget();
    return true;
  }

  /** The command behind "Get the model": tells where the model is, or downloads it (no second question). */
  async downloadFromCommand(): Promise<void> {
    if (this.cancelDownload) {
      void vscode.window.showInformationMessage('Letterpress: the model is downloading; see its progress in the status bar.');
      return;
    }
    const dir = await this.ensure({ ask: false });
    if (dir) void vscode.window.showInformationMessage(`Letterpress: the model is ready (${dir}).`);
  }

  /** Cancels the model download in progress (the status-bar item's command). */
  cancelModelDownload(): void {
    this.cancelDownload?.();
  }

  async countTokens(text: string, waitMs = 2000): Promise<CountTokensResult | undefined> {
    const modelDir = await Promise.race([this.locate().catch(() => undefined), delay(waitMs)]);
    if (!modelDir) return undefined;
    return this.supervisor.request(countTokensRequest, { modelDir, text }).catch(() => undefined);
  }

  async setToken(): Promise<void> {
    const token = await vscode.window.showInputBox({
      title: 'Letterpress: Hugging Face Token',
      prompt: 'Access token for huggingface.co (only needed for gated or private models). Leave empty to remove the stored token.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value && !/^hf_[A-Za-z0-9]{10,}$/.test(value.trim()) ? 'Hugging Face tokens start with "hf_".' : undefined),
    });
    if (token === undefined) return;
    if (token.trim()) {
      await this.context.secrets.store(tokenSecretKey, token.trim());
      void vscode.window.showInformationMessage('Letterpress: Hugging Face token saved.');
    } else {
      await this.context.secrets.delete(tokenSecretKey);
      void vscode.window.showInformationMessage('Letterpress: Hugging Face token removed.');
    }
  }

  /**
   * What the download would fetch, from the hub's file sizes and the cache: the model store's dry
   * run, asked of the runtime (the host makes no hub calls). Undefined when the hub cannot be asked
   * in time (offline, unreachable) or the runtime cannot answer: the offer then gives an estimate.
   */
  private async planDownload(model: string | undefined, repo: string): Promise<ModelDownloadPlan | undefined> {
    const token = (await this.context.secrets.get(tokenSecretKey)) ?? undefined;
    try {
      return await this.supervisor.request(planModelRequest, { model: model || undefined, token }, { timeoutMs: sizeLookupMs });
    } catch (error) {
      this.log.info(`Could not ask the hub how big ${repo} is: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  private async download(model: string | undefined, repo: string): Promise<string | undefined> {
    const token = (await this.context.secrets.get(tokenSecretKey)) ?? undefined;
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Letterpress: downloading ${repo}`, cancellable: true },
      async (progress, cancel) => {
        const job = this.jobs.resolveModel(`Download ${repo}`, { model, token });
        cancel.onCancellationRequested(() => job.cancel());
        // The notification can be hidden; the status bar keeps showing the download, and a click cancels it.
        const item = vscode.window.createStatusBarItem('letterpress.modelDownload', vscode.StatusBarAlignment.Left, 50);
        item.name = 'Letterpress Model Download';
        item.command = cancelModelDownloadCommand;
        const show = (view: Parameters<typeof downloadStatusText>[1]) => {
          const { text, tooltip } = downloadStatusText(repo, view);
          item.text = text;
          item.tooltip = tooltip;
        };
        show(undefined);
        item.show();
        this.cancelDownload = () => job.cancel();
        void vscode.commands.executeCommand('setContext', downloadingContext, true);
        let reported = 0;
        job.onProgress((event) => {
          if (event.status !== 'download') return;
          show(event);
          const fraction = event.total > 0 ? event.bytes / event.total : 0;
          const increment = Math.max(0, fraction * 100 - reported);
          reported += increment;
          const eta = event.etaSeconds === null ? '' : `, ${formatEta(event.etaSeconds)} left`;
          progress.report({ increment, message: `${formatBytes(event.bytes)} of ${formatBytes(event.total)}${eta}` });
        });
        try {
          const result = await job.result;
          this.log.info(`Model ready: ${result.modelDir} (${result.source})`);
          this.forget();
          void vscode.commands.executeCommand('setContext', modelReadyContext, true);
          return result.modelDir;
        } catch (error) {
          if (isRuntimeError(error, 'cancelled')) {
            void vscode.window.showInformationMessage('Letterpress: download paused. It resumes where it stopped next time.');
            return undefined;
          }
          const message = error instanceof Error ? error.message : String(error);
          this.log.error(`Model download failed: ${message}`);
          void vscode.window.showErrorMessage(`Letterpress: could not download ${repo}: ${message}`, 'Show Log').then((c) => c && this.log.show());
          return undefined;
        } finally {
          item.dispose();
          this.cancelDownload = undefined;
          void vscode.commands.executeCommand('setContext', downloadingContext, false);
        }
      },
    );
  }
}

function looksLikePath(model: string): boolean {
  return isAbsolute(model) || model.startsWith('.') || model.startsWith('~') || model.includes('\\') || model.split('/').length > 2;
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}
