// The size in the first-run download offer, from the model store's dry run (what the hub says the
// needed files weigh, less what the cache already holds), with a plain estimate when the hub could
// not be asked.
import type { ModelDownloadPlan } from '../../runtime/protocol/runtimeProtocol.ts';
import { formatBytes } from '../../runtime/protocol/byteSize.ts';

/** Below this, what is already cached (config files, a few kB) is not worth a mention. */
const worthMentioning = 1e6;

function sizeText(bytes: number): string {
  if (bytes >= 0.1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

/** "1.9 GB download, 0.4 GB already here", or "5.2 GB download, once"; `estimate` ("about 5.2 GB") without a plan. */
export function downloadSizeText(plan: Pick<ModelDownloadPlan, 'bytesToFetch' | 'cachedBytes'> | undefined, estimate: string): string {
  if (!plan) return `${estimate} download, once`;
  const here = plan.cachedBytes >= worthMentioning ? `, ${sizeText(plan.cachedBytes)} already here` : ', once';
  return `${sizeText(plan.bytesToFetch)} download${here}`;
}

/** "1.2 GB", "340 MB", "12 kB": the host's short form for progress lines. */
export function formatEta(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export interface DownloadProgressView {
  bytes: number;
  total: number;
  etaSeconds: number | null;
}

/**
 * The status-bar item while the model downloads: "$(cloud-download) Model 37%" (before the first
 * byte: "starting") and a tooltip with the amounts, the time left and how to cancel.
 */
export function downloadStatusText(repo: string, progress: DownloadProgressView | undefined): { text: string; tooltip: string } {
  const lines = [`Letterpress: downloading ${repo}`];
  let state = 'starting';
  if (progress && progress.total > 0) {
    state = `${Math.min(100, Math.floor((progress.bytes / progress.total) * 100))}%`;
    const eta = progress.etaSeconds === null ? '' : `, ${formatEta(progress.etaSeconds)} left`;
    lines.push(`${formatBytes(progress.bytes)} of ${formatBytes(progress.total)}${eta}`);
  }
  lines.push('Click to cancel; the download resumes where it stopped next time.');
  return { text: `$(cloud-download) Model ${state}`, tooltip: lines.join('\n') };
}
