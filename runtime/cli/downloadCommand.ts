import { parseArgs } from 'node:util';
import type { ProgressEvent } from '../generationTypes.ts';
import { formatBytes } from '../modelStore/diskSpace.ts';
import { ModelStoreError } from '../modelStore/modelStoreError.ts';
import { defaultModelId, resolveModel } from '../modelStore/resolveModel.ts';
import { CliError } from './cliError.ts';

const usage = `usage: letterpress download [--model <repo id or folder>] [--revision <rev>] [--cache-dir <dir>] [--refresh]

Fetches the model into the Hugging Face cache (or checks a local folder) and prints the model folder
as the last line of stdout. Progress goes to stderr.
  --model      Hugging Face repository id or local diffusers folder (default ${defaultModelId})
  --revision   branch, tag or commit (default main)
  --cache-dir  hub cache folder (default $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)
  --refresh    ask the hub for the revision's latest commit even when a copy is cached
Environment: HF_TOKEN (private or gated models), HF_ENDPOINT, HF_HUB_OFFLINE=1 (cache only).`;

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** Writes progress to stderr: one rewritten line on a terminal, a line every few seconds otherwise. */
function progressPrinter(stream: NodeJS.WriteStream): (event: ProgressEvent) => void {
  let lastLineAt = 0;
  return (event) => {
    if (event.status === 'message') {
      stream.write(`${stream.isTTY ? '\r\x1b[K' : ''}${event.text}\n`);
      return;
    }
    if (event.status !== 'download') return;
    const speed = event.bytesPerSecond > 0 ? ` ${formatBytes(event.bytesPerSecond)}/s` : '';
    const eta = event.etaSeconds !== null ? ` ETA ${formatDuration(event.etaSeconds)}` : '';
    const line =
      `${event.file} ${formatBytes(event.fileBytes)}/${formatBytes(event.fileTotal)}` +
      ` | total ${formatBytes(event.bytes)}/${formatBytes(event.total)}${speed}${eta}`;
    if (stream.isTTY) {
      stream.write(`\r\x1b[K${line}`);
      if (event.bytes >= event.total) stream.write('\n');
      return;
    }
    const now = Date.now();
    const fileDone = event.fileBytes >= event.fileTotal;
    if (fileDone || now - lastLineAt > 2_000) {
      stream.write(`${line}\n`);
      lastLineAt = now;
    }
  };
}

export async function runDownloadCommand(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        revision: { type: 'string' },
        'cache-dir': { type: 'string' },
        refresh: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await resolveModel({
      model: values.model,
      revision: values.revision,
      cacheDir: values['cache-dir'],
      refresh: values.refresh,
      onProgress: progressPrinter(process.stderr),
      signal: controller.signal,
    });
    const how = { local: 'local folder', cache: 'already in the cache', download: 'downloaded' }[result.source];
    process.stderr.write(`${how}${result.revision ? ` (commit ${result.revision})` : ''}\n`);
    process.stdout.write(`${result.modelDir}\n`);
  } catch (error) {
    if (error instanceof ModelStoreError) throw new CliError(error.message, 1);
    if (error instanceof Error && error.name === 'AbortError') {
      throw new CliError('download cancelled; the partial file is kept and the next run resumes it', 130);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
