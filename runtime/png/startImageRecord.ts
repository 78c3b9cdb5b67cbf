// Where an image made from a start image came from, in the PNG's `letterpress` JSON chunk beside the
// legibility record (letterpressRecord.ts): {"source": {mode, strength, image:
// {path, sha256}, mask?}}. Whoever rewrites that chunk keeps `source` (see keptSourceOf).
import type { StartImageMode, StartImageRecord } from '../protocol/generationTypes.ts';
import { isPixelBox, type PixelBox } from '../protocol/paramsValidation.ts';

const modes: readonly StartImageMode[] = ['img2img', 'inpaint', 'layout'];

export function startImageChunkText(record: StartImageRecord): string {
  return JSON.stringify({ source: record });
}

function fileEntry(value: unknown): { path?: string; sha256: string; box?: PixelBox } | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (typeof v.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(v.sha256)) return null;
  if (v.path !== undefined && typeof v.path !== 'string') return null;
  if (v.box !== undefined && !isPixelBox(v.box)) return null;
  return { ...(typeof v.path === 'string' ? { path: v.path } : {}), sha256: v.sha256, ...(v.box !== undefined ? { box: v.box as PixelBox } : {}) };
}

/** The `source` of a `letterpress` chunk's JSON; null when it has none or it is malformed. */
export function parseStartImageRecord(chunkText: string | undefined): StartImageRecord | null {
  if (!chunkText) return null;
  let value: unknown;
  try {
    value = JSON.parse(chunkText);
  } catch {
    return null;
  }
  const source = (value as { source?: unknown } | null)?.source as Record<string, unknown> | undefined;
  if (!source || typeof source !== 'object') return null;
  const mode = source.mode as StartImageMode;
  const strength = source.strength;
  const image = fileEntry(source.image);
  // The start image itself is a file; only a mask can be a drawn rectangle.
  if (image?.box) delete image.box;
  if (!modes.includes(mode) || typeof strength !== 'number' || !(strength >= 0 && strength <= 1) || !image) return null;
  const mask = source.mask === undefined ? undefined : fileEntry(source.mask);
  if (mask === null) return null;
  return { mode, strength, image, ...(mask ? { mask } : {}) };
}

/** `{source}` of an existing chunk, to spread into a record that replaces it. */
export function keptSourceOf(chunkText: string | undefined): { source?: StartImageRecord } {
  const source = parseStartImageRecord(chunkText);
  return source ? { source } : {};
}
