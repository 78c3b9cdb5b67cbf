import { ModelStoreError } from '../modelStore/modelStoreError.ts';
import { formatBytes } from '../protocol/byteSize.ts';
import { defaultModelId, planModelDownload, resolveModel } from '../modelStore/resolveModel.ts';
import { CliError } from './cliError.ts';
import { downloadProgressPrinter } from './downloadProgressPrinter.ts';
import { parseCliOptions } from './cliOptions.ts';

const usage = `usage: letterpress download [--model <repo id or folder>] [--revision <rev>] [--cache-dir <dir>] [--refresh] [--dry-run]

Fetches the model into the Hugging Face cache (or checks a local folder) and prints the model folder
as the last line of stdout. Progress goes to stderr.
  --model      Hugging Face repository id or local diffusers folder (default ${defaultModelId})
  --revision   branch, tag or commit (default main)
  --cache-dir  hub cache folder (default $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)
  --refresh    ask the hub for the revision's latest commit even when a copy is cached
  --dry-run    download nothing; print {"bytesToFetch", "cachedBytes", "totalBytes"} as JSON
Environment: HF_TOKEN (private or gated models), HF_ENDPOINT, HF_HUB_OFFLINE=1 (cache only).`;

export async function runDownloadCommand(args: string[]): Promise<void> {
  const values = parseCliOptions(
    args,
    {
      model: { type: 'string' },
      revision: { type: 'string' },
      'cache-dir': { type: 'string' },
      refresh: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    },
    { usage },
  );
  if (!values) return;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (values['dry-run']) {
      const plan = await planModelDownload({ model: values.model, revision: values.revision, cacheDir: values['cache-dir'], refresh: values.refresh, signal: controller.signal });
      const where = plan.revision ? ` (commit ${plan.revision})` : '';
      process.stderr.write(`${formatBytes(plan.bytesToFetch)} to download, ${formatBytes(plan.cachedBytes)} already here, ${formatBytes(plan.totalBytes)} in all${where}\n`);
      process.stdout.write(`${JSON.stringify({ bytesToFetch: plan.bytesToFetch, cachedBytes: plan.cachedBytes, totalBytes: plan.totalBytes })}\n`);
      return;
    }
    const result = await resolveModel({
      model: values.model,
      revision: values.revision,
      cacheDir: values['cache-dir'],
      refresh: values.refresh,
      onProgress: downloadProgressPrinter(process.stderr),
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
