// Turns a job's prompt (and the optional explicit text and per-job choices of the gallery form)
// plus the user's settings into the runtime's legibility options. Shared by the commands and the
// gallery, so both check text the same way.
import type { LegibilityOptions } from '../../runtime/protocol/runtimeProtocol.ts';
import { resolveTargetText } from '../../runtime/protocol/targetText.ts';
import type { TextLayoutMode } from '../../runtime/protocol/layoutOptions.ts';
import type { LetterpressSettings } from '../settings.ts';

export interface LegibilityInput {
  prompt: string;
  /** Explicit text to render; overrides what the prompt quotes. */
  text?: string;
  /** Per-job choice (the gallery form); the setting otherwise. 0 = auto. */
  candidates?: number;
  exactFallback?: boolean;
  /** Images the job asks for: best of N keeps one, so more than one means "score only". */
  numImages?: number;
  /** Per-job layout-first choice; the setting otherwise. */
  layout?: TextLayoutMode;
}

type LegibilitySettings = Pick<
  LetterpressSettings,
  'checkText' | 'candidates' | 'exactTextFallback' | 'exactTextPosition' | 'keepCandidates' | 'textLayout' | 'textLayoutStrength'
>;

/** Undefined when there is no text to check or the check is switched off. */
export function legibilityOptionsFor(input: LegibilityInput, settings: LegibilitySettings): LegibilityOptions | undefined {
  const explicit = input.text?.trim() ? input.text : undefined;
  // An explicit text is a request to check it, even with the automatic check off.
  if (!settings.checkText && !explicit) return undefined;
  const target = resolveTargetText({ prompt: input.prompt, text: explicit ?? null });
  if (!target) return undefined;
  const several = (input.numImages ?? 1) > 1;
  return {
    target,
    candidates: several ? 1 : (input.candidates ?? settings.candidates),
    exactFallback: several ? false : (input.exactFallback ?? settings.exactTextFallback),
    ...(settings.exactTextPosition ? { position: settings.exactTextPosition } : {}),
    keepCandidates: settings.keepCandidates,
    // Several images are plain text-to-image, scored: layout-first is best of N across phases.
    ...(several ? {} : { layout: input.layout ?? settings.textLayout, layoutStrength: settings.textLayoutStrength }),
  };
}

/** One line for people: "“OPEN 24/7” reads exactly (best of 4)" or "… read as “OPEM 2417” (CER 0.25)". */
export function describeLegibility(legibility: {
  target: string;
  ocrText: string;
  cer: number;
  exactMatch: boolean;
  exactTextFallback: boolean;
  candidateCount: number;
  mode?: 'txt2img' | 'layout' | 'repair';
}): string {
  const target = `“${legibility.target.replace(/\n/g, ' / ')}”`;
  const how = legibility.mode === 'layout' ? 'layout-first' : legibility.mode === 'repair' ? 'text repaired' : '';
  const count = legibility.candidateCount > 1 ? `best of ${legibility.candidateCount}` : '';
  const of = [how, count].filter(Boolean).join(', ');
  if (legibility.exactMatch && legibility.exactTextFallback) {
    const why = legibility.candidateCount > 1 ? `none of the ${legibility.candidateCount} candidates spelled it` : 'the image did not spell it';
    return `${target} drawn exactly: ${why}`;
  }
  if (legibility.exactMatch) return `${target} reads exactly${of ? ` (${of})` : ''}`;
  const read = legibility.ocrText.replace(/\s+/g, ' ').trim();
  const shown = read ? `“${read.length > 60 ? `${read.slice(0, 59)}…` : read}”` : 'nothing';
  return `${target} read as ${shown} (CER ${legibility.cer.toFixed(2)}${of ? `, ${of}` : ''})`;
}
