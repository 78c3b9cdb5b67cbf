// The gallery's view of an image's `letterpress` chunk. The file may come from anywhere (an older
// version, another tool, a hand edit), so the record is checked and bounded here: anything that does
// not fit gives no legibility at all and the image still shows. Free of `vscode`.
import { parseLegibilityChunk } from '../../runtime/png/letterpressRecord.ts';
import { isGalleryLegibility, legibilityLimits } from '../../webview/protocol.ts';
import type { GalleryLegibility } from '../../webview/protocol.ts';

function clip(text: string): string {
  const chars = Array.from(text);
  return chars.length <= legibilityLimits.textChars ? text : `${chars.slice(0, legibilityLimits.textChars - 1).join('')}…`;
}

/**
 * `seed` is the one in the image's `parameters` chunk: an image whose seed is not the record's
 * chosen seed is a losing candidate.
 */
export function galleryLegibility(chunkText: string, seed: number | undefined): GalleryLegibility | undefined {
  const record = parseLegibilityChunk(chunkText);
  if (!record) return undefined;
  const { legibility, candidates } = record;
  if (typeof legibility.ocrText !== 'string' || typeof legibility.ocrConfidence !== 'number') return undefined;
  if (candidates !== undefined && (typeof candidates !== 'object' || candidates === null)) return undefined;
  const chosenSeed = candidates?.chosenSeed;
  const view: GalleryLegibility = {
    // The target is what the user asked for: cut, it would read as a different text, so it must fit.
    target: legibility.target,
    ocrText: clip(legibility.ocrText),
    cer: legibility.cer,
    exactMatch: legibility.exactMatch,
    ocrConfidence: legibility.ocrConfidence,
    exactTextFallback: record.exactTextFallback === true,
    candidateCount: candidates === undefined ? 1 : candidates.count,
    ...(record.mode === 'layout' || record.mode === 'repair' ? { mode: record.mode } : {}),
    chosen: typeof chosenSeed !== 'number' || seed === undefined || seed === chosenSeed,
  };
  return isGalleryLegibility(view) ? view : undefined;
}
