// Finds the model on disk (the `letterpress.model` setting, or the default model in the hub cache)
// and, on first use, offers once to download it, with progress and cancel. The hub token lives in
// SecretStorage.
import { randomUUID } from 'node:crypto';
import { isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import { planModelDownload, type ModelDownloadPlan } from '../../runtime/modelStore/resolveModel.ts';
import { countTokensRequest, isRuntimeError, resolveModelRequest, type CountTokensResult } from '../../runtime/protocol/runtimeProtocol.ts';
import { downloadSizeText } from './downloadOffer.ts';
import type { JobQueue } from '../runtime/jobQueue.ts';
import type { RuntimeSupervisor } from '../runtime/runtimeSupervisor.ts';
import { readSettings } from '../settings.ts';

export const defaultModelId = 'pbevan11/stable-diffusion-2-typography';
const defaultModelSize = 'about 5.2 GB';
/** The offer waits this long at most for the hub to tell the download's size. */
const sizeLookupMs = 5_000;
const tokenSecretKey = 'letterpress.huggingFaceToken';

export class ModelManager {
  private located = new Map<string, Promise<string | undefined>>();

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
        .then((r) => r.modelDir)
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
  async ensure(): Promise<string | undefined> {
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
    const choice = await vscode.window.showInformationMessage(
      `Letterpress needs the model ${repo} (${size}). Download it now?`,
      'Download',
      'Use Local Folder…',
    );
    if (choice === 'Use Local Folder…') {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use as Letterpress model' });
      if (picked?.[0]) {
        await vscode.workspace.getConfiguration('letterpress').update('model', picked[0].fsPath, vscode.ConfigurationTarget.Global);
        this.forget();
        return this.ensure();
      }
      return undefined;
    }
    if (choice !== 'Download') return undefined;
    return this.download(model || undefined, repo);
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
   * What the download would fetch, from the hub's file sizes and the cache (the model store's dry
   * run, here in the host: the runtime child shares its environment, hence its cache). Undefined
   * when the hub cannot be asked in time (offline, unreachable): the offer then gives an estimate.
   */
  private async planDownload(model: string | undefined, repo: string): Promise<ModelDownloadPlan | undefined> {
    const token = (await this.context.secrets.get(tokenSecretKey)) ?? undefined;
    try {
      return await planModelDownload({ model, token, signal: AbortSignal.timeout(sizeLookupMs), metadataTimeoutMs: sizeLookupMs });
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
        let reported = 0;
        job.onProgress((event) => {
          if (event.status !== 'download') return;
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

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(0)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

function formatEta(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
