// The size in the first-run download offer, from the model store's dry run (what the hub says the
// needed files weigh, less what the cache already holds), with a plain estimate when the hub could
// not be asked.
import type { ModelDownloadPlan } from '../../runtime/modelStore/resolveModel.ts';

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
