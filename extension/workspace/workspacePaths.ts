// Keeps every write inside the workspace folder: the output folder setting is resolved against the
// workspace root and refused when it leaves it, lexically (`..`, absolute paths elsewhere) or
// through a symbolic link (checked on real paths, of the deepest part that exists).
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { deepestExisting } from '../../runtime/files/realPaths.ts';

export class OutputPathError extends Error {
  override readonly name = 'OutputPathError';
}

/** True when `child` is `parent` or lies below it (both absolute, already normalized). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Resolves the setting against the root without touching the disk; throws when it leaves the root. */
export function resolveInside(workspaceRoot: string, setting: string): string {
  const trimmed = setting.trim();
  if (!trimmed) throw new OutputPathError('The output folder setting is empty. Set "letterpress.outputFolder" to a folder inside the workspace, e.g. "assets/generated".');
  if (trimmed.includes('\0')) throw new OutputPathError('The output folder setting contains a NUL character.');
  const root = resolve(workspaceRoot);
  const target = resolve(root, trimmed);
  if (!isInside(root, target)) {
    throw new OutputPathError(
      `The output folder "${setting}" is outside the workspace folder ${root}. Letterpress only writes inside the workspace: set "letterpress.outputFolder" to a relative path such as "assets/generated".`,
    );
  }
  return target;
}

/**
 * The output folder's absolute path, confined to the workspace root also after following symbolic
 * links. The folder itself need not exist yet.
 */
export async function resolveOutputFolder(workspaceRoot: string, setting: string): Promise<string> {
  return (await confineOutputFolder(workspaceRoot, setting)).path;
}

/**
 * resolveOutputFolder's check, returning the folder's real path too (links followed), which is
 * what the host hands the runtime to write into: the runtime writes only when it finds that very folder.
 */
export async function confineOutputFolder(workspaceRoot: string, setting: string): Promise<{ path: string; realPath: string }> {
  const target = resolveInside(workspaceRoot, setting);
  const realRoot = await realpath(resolve(workspaceRoot));
  const existing = await deepestExisting(target);
  const realExisting = await realpath(existing.path);
  const realTarget = join(realExisting, ...existing.missing);
  if (!isInside(realRoot, realTarget)) {
    throw new OutputPathError(
      `The output folder "${setting}" leads outside the workspace folder through a symbolic link (${existing.path} → ${realExisting}). Choose a folder inside the workspace.`,
    );
  }
  return { path: target, realPath: realTarget };
}

/** Forward-slash path of `target` relative to `fromDir`, as Markdown, HTML and CSS want it. */
export function relativeReference(fromDir: string, target: string): string {
  return relative(fromDir, target).split(sep).join('/');
}

/** A file a job would read is missing or outside the workspace. */
export class WorkspaceFileError extends Error {
  override readonly name = 'WorkspaceFileError';
}

/**
 * The real path of an existing file given by the user or the page (a start image, a mask), when it
 * lies inside one of the workspace folders also after following symbolic links; else an error that
 * says so. Nothing outside the workspace is handed to the runtime to read.
 */
export async function workspaceFile(path: string, roots: readonly string[], what: string): Promise<string> {
  if (!isAbsolute(path) || path.includes('\0')) throw new WorkspaceFileError(`The ${what} ${path} is not a file path inside the workspace.`);
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new WorkspaceFileError(`The ${what} ${path} does not exist (moved or deleted?).`);
  }
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => undefined);
    if (realRoot && isInside(realRoot, real)) return real;
  }
  throw new WorkspaceFileError(`The ${what} ${path} is outside the workspace${real !== resolve(path) ? ` (it leads to ${real})` : ''}: Letterpress only reads images inside the workspace folders.`);
}
