// How the gallery words an image's OCR check: the short badge on its card, the tooltip behind it,
// the name a screen reader says, and the one-line summary of a finished job.
import type { GalleryImage, GalleryLegibility, JobView } from './protocol.ts';

export interface LegibilityBadge {
  /** "✓ text", "✓ text (drawn)" or "CER 0.31". */
  text: string;
  /** Tooltip: the target, what OCR read, how sure it was. */
  title: string;
  /** Accessible name: the badge's meaning in words rather than symbols. */
  label: string;
  exact: boolean;
}

function quoted(text: string): string {
  return `“${text.replace(/\s*\n\s*/g, ' / ')}”`;
}

export function formatCer(cer: number): string {
  return `CER ${cer.toFixed(2)}`;
}

export function legibilityBadge(l: GalleryLegibility): LegibilityBadge {
  const drawn = l.exactTextFallback ? ' (drawn)' : '';
  const text = `${l.exactMatch ? '✓ text' : formatCer(l.cer)}${drawn}`;
  const lines = [
    `Text: ${quoted(l.target)}`,
    `OCR read: ${l.ocrText.trim() ? quoted(l.ocrText) : 'nothing'} (confidence ${Math.round(l.ocrConfidence)})`,
    l.exactMatch ? 'Exact match' : `Character error rate ${l.cer.toFixed(2)} (0 is exact)`,
  ];
  if (l.exactTextFallback) lines.push('No candidate spelled the text, so it was drawn over the image');
  if (l.candidateCount > 1) lines.push(l.chosen ? `Best of ${l.candidateCount} candidates` : `Candidate that lost to a better one of ${l.candidateCount}`);
  const meaning = l.exactMatch ? 'text reads exactly' : `text character error rate ${l.cer.toFixed(2)}`;
  return {
    text,
    title: lines.join('\n'),
    label: `${meaning}${l.exactTextFallback ? ', drawn over the image' : ''}`,
    exact: l.exactMatch,
  };
}

/**
 * "best of 4 · ✓ exact" or "best of 4 · CER 0.12" for a finished job, from the legibility of the
 * image it kept; '' when the job's images carry none (no text to check, or not indexed yet).
 */
export function jobLegibilitySummary(job: JobView, images: readonly GalleryImage[]): string {
  const kept = job.outputs
    .map((id) => images.find((image) => image.id === id)?.legibility)
    .find((l): l is GalleryLegibility => l !== undefined);
  if (!kept) return '';
  const parts: string[] = [];
  if (kept.candidateCount > 1) parts.push(`best of ${kept.candidateCount}`);
  parts.push(`${kept.exactMatch ? '✓ exact' : formatCer(kept.cer)}${kept.exactTextFallback ? ' (drawn)' : ''}`);
  return parts.join(' · ');
}
