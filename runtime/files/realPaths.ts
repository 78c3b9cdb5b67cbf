// Where a path really leads when part of it may not exist yet: the existing part with its symbolic
// links followed, the missing rest as written. The host confines a destination to the workspace with
// it; the CLI and the host hand the runtime such paths, and the runtime compares what it finds with
// them before writing (runtime/jobs/exportImageJob.ts).
import { realpath } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

/** The deepest part of `path` that exists, and the names below it that do not (yet). */
export async function deepestExisting(path: string): Promise<{ path: string; missing: string[] }> {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    try {
      await realpath(current);
      return { path: current, missing };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      const parent = resolve(current, '..');
      if (parent === current) throw error;
      missing.unshift(relative(parent, current));
      current = parent;
    }
  }
}

/** `path` (made absolute) with the links of its existing part followed; missing folders kept as named. */
export async function realPathAllowingMissing(path: string): Promise<string> {
  const existing = await deepestExisting(path);
  return join(await realpath(existing.path), ...existing.missing);
}
