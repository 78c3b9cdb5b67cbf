// Small validators for the parameters that cross a boundary (host → runtime process, argv → CLI).
// Hand-written rather than a schema library: the checks are few (numbers within the limits table,
// bounded strings, enums, records), the messages must name the field and the limit in our words
// for three audiences (the runtime's `invalidParams`, the CLI's `--steps`, the pipeline), and the
// webview bundle imports this file too, so it stays dependency-free and tiny.
import { numberProblem, type NumberLimit, type TextLimit } from './limits.ts';

/** Where in the params a problem is: ['options', 'steps']. */
export type FieldPath = readonly (string | number)[];

export interface ParamsProblem {
  path: FieldPath;
  /** Reads after the field's name: "must be a whole number from 1 to 150, got 151". */
  problem: string;
}

/**
 * Checks `value` (found at `path`) and returns the first problem, or undefined when it is a `T`.
 * `__type` only exists for the type checker.
 */
export interface Validator<T> {
  (value: unknown, path: FieldPath): ParamsProblem | undefined;
  readonly __type?: T;
}

/** A validator written by hand, for a shape the combinators below do not cover. */
export function validator<T>(check: (value: unknown, path: FieldPath) => ParamsProblem | undefined): Validator<T> {
  return check as Validator<T>;
}

const at = (path: FieldPath, problem: string): ParamsProblem => ({ path, problem });

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `"${value.slice(0, 40)}"` : typeof value === 'object' ? 'an object' : String(value);
}

export const boolean = validator<boolean>((v, path) => (typeof v === 'boolean' ? undefined : at(path, `must be true or false, got ${describe(v)}`)));

/** A string, optionally non-blank and bounded by a text limit of the table. */
export function text(options: { limit?: TextLimit; nonBlank?: boolean } = {}): Validator<string> {
  return validator<string>((v, path) => {
    if (typeof v !== 'string') return at(path, `must be text, got ${describe(v)}`);
    if (options.nonBlank && v.trim() === '') return at(path, 'is empty');
    if (options.limit && v.length > options.limit.maxChars) {
      return at(path, `is ${v.length} characters long; at most ${options.limit.maxChars}`);
    }
    return undefined;
  });
}

/** A number within one of the table's limits. */
export function numberIn(limit: NumberLimit): Validator<number> {
  return validator<number>((v, path) => {
    const problem = numberProblem(limit, v);
    return problem ? at(path, problem) : undefined;
  });
}

/** Bytes (a file's contents crossing in memory), bounded. */
export function bytes(limit: { maxBytes: number }): Validator<Uint8Array> {
  return validator<Uint8Array>((v, path) => {
    if (!(v instanceof Uint8Array)) return at(path, `must be bytes, got ${describe(v)}`);
    return v.byteLength > limit.maxBytes ? at(path, `is ${v.byteLength} bytes; at most ${limit.maxBytes}`) : undefined;
  });
}

export function oneOf<const T extends string>(values: readonly T[]): Validator<T> {
  return validator<T>((v, path) =>
    typeof v === 'string' && (values as readonly string[]).includes(v) ? undefined : at(path, `must be one of ${values.join(', ')}, got ${describe(v)}`),
  );
}

export function optional<T>(check: Validator<T>): Validator<T | undefined> {
  return validator<T | undefined>((v, path) => (v === undefined ? undefined : check(v, path)));
}

/** A plain object whose listed fields each pass; a record field may add a check across fields. */
export function record<T>(
  fields: { [K in keyof T]-?: Validator<T[K]> },
  across?: (value: T, path: FieldPath) => ParamsProblem | undefined,
): Validator<T> {
  return validator<T>((v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return at(path, `must be an object, got ${describe(v)}`);
    for (const key of Object.keys(fields) as (keyof T & string)[]) {
      const problem = fields[key]((v as Record<string, unknown>)[key], [...path, key]);
      if (problem) return problem;
    }
    return across?.(v as T, path);
  });
}

/** Runs a validator at the top of some params. */
export function validateParams<T>(check: Validator<T>, value: unknown): ParamsProblem | undefined {
  return check(value, []);
}

export function isValid<T>(check: Validator<T>, value: unknown): value is T {
  return check(value, []) === undefined;
}

/** "options.steps must be a whole number from 1 to 150, got 151" (the root is named `params`). */
export function formatProblem(problem: ParamsProblem, name: (path: FieldPath) => string = dottedPath): string {
  return `${name(problem.path)} ${problem.problem}`;
}

export function dottedPath(path: FieldPath): string {
  return path.length === 0 ? 'params' : path.map((p) => String(p)).join('.');
}

/**
 * An absolute path on any platform (POSIX `/…`, Windows `C:\…` or `\\server\…`), checked without
 * node:path so that the webview, which type-checks this file, needs no Node types.
 */
export const absolutePath = validator<string>((v, path) => {
  if (typeof v !== 'string' || v === '') return at(path, `must be an absolute path, got ${describe(v)}`);
  if (v.includes('\0')) return at(path, 'must not contain a NUL character');
  return /^(?:\/|[A-Za-z]:[\\/]|\\\\)/.test(v) ? undefined : at(path, `must be an absolute path, got ${describe(v)}`);
});

/** A rectangle in pixels (an OCR box, a layout's box, a drawn mask): whole or fractional, never negative. */
export interface PixelBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A PixelBox: four finite, non-negative numbers. */
export const pixelBox = validator<PixelBox>((v, path) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return at(path, `must be a box {left, top, width, height}, got ${describe(v)}`);
  const box = v as Record<string, unknown>;
  for (const key of ['left', 'top', 'width', 'height']) {
    const n = box[key];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return at([...path, key], `must be a number of pixels from 0, got ${describe(n)}`);
  }
  return undefined;
});

/** True for a box as OCR and the layout records write it (records read back from files are checked with this). */
export function isPixelBox(value: unknown): value is PixelBox {
  return pixelBox(value, []) === undefined;
}
/**
 * One file or folder name (not a path): no separators, not `.` or `..`, not hidden, no NUL, and
 * no longer than most file systems allow (255).
 */
export const fileName = validator<string>((v, path) => {
  if (typeof v !== 'string' || v.trim() === '') return at(path, `must be a file name, got ${describe(v)}`);
  if (/[\\/\0]/.test(v) || v.startsWith('.')) return at(path, `must be a plain name (no path, not hidden), got ${describe(v)}`);
  return v.length > 255 ? at(path, `is ${v.length} characters long; at most 255`) : undefined;
});
