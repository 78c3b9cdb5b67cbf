import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Bytes an unprivileged user may still write on the volume holding `dir` (or its nearest existing parent). */
export async function freeDiskSpace(dir: string): Promise<number> {
  let current = dir;
  for (;;) {
    try {
      const info = await statfs(current);
      return info.bavail * info.bsize;
    } catch (error) {
      const parent = dirname(current);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw error;
      current = parent;
    }
  }
}
