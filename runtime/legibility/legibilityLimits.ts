// The few legibility constants the extension host needs too, kept apart from the OCR and drawing
// modules so importing them does not load tesseract.js or sharp into the host.
import type { TextPosition } from './exactTextFallback.ts';

export const textPositions: readonly TextPosition[] = ['top', 'centre', 'bottom'];
export const maxCandidates = 16;
/** Longest target text accepted: a sign or a banner, not a paragraph. */
export const maxTargetChars = 200;
