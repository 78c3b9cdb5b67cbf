// Small previews of the gallery's images, made once with sharp and kept in the extension's global
// storage. The file name is a hash of path, mtime and size, so an edited or replaced image gets a
// new thumbnail and never shows a stale one. Free of `vscode`.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeNewFile } from '../../runtime/files/newFiles.ts';
import { sharpInputOptions } from '../../runtime/png/imageLimits.ts';

export interface ThumbnailSource {
  path: string;
  mtimeMs: number;
  size: number;
}

/** Edge of the square box a thumbnail fits in: crisp on a 2× display at the panel's card size. */
export const thumbnailEdge = 256;

export class ThumbnailCache {
  private readonly pending = new Map<string, Promise<string | undefined>>();

  constructor(readonly folder: string) {}

  keyOf(source: ThumbnailSource): string {
    return createHash('sha256').update(`${source.path}\0${source.mtimeMs}\0${source.size}`).digest('hex').slice(0, 32);
  }

  pathOf(source: ThumbnailSource): string {
    return join(this.folder, `${this.keyOf(source)}.webp`);
  }

  /** The thumbnail's path, made if missing; undefined when the image cannot be decoded. */
  async get(source: ThumbnailSource): Promise<string | undefined> {
    const target = this.pathOf(source);
    const running = this.pending.get(target);
    if (running) return running;
    const work = this.make(source.path, target).finally(() => this.pending.delete(target));
    this.pending.set(target, work);
    return work;
  }

  private async make(imagePath: string, target: string): Promise<string | undefined> {
    try {
      await stat(target);
      return target;
    } catch {
      // not cached yet
    }
    await mkdir(this.folder, { recursive: true });
    let thumbnail: Buffer;
    try {
      // Loaded on first use: a native module that fails to load must not stop the extension from activating.
      const { default: sharp } = await import('sharp');
      // limitInputPixels: a pixel bomb in the output folder is refused by its header, not decoded.
      thumbnail = await sharp(imagePath, sharpInputOptions)
        .resize(thumbnailEdge, thumbnailEdge, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toBuffer();
    } catch {
      return undefined;
    }
    // Through an exclusive temporary file: never written through a link planted in the folder.
    return writeNewFile(target, thumbnail, { overwrite: true }).then(
      () => target,
      () => undefined,
    );
  }

  /** Deletes thumbnails of images no longer in the gallery. */
  async prune(keep: Iterable<ThumbnailSource>): Promise<number> {
    const wanted = new Set([...keep].map((s) => `${this.keyOf(s)}.webp`));
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch {
      return 0;
    }
    const stale = names.filter((name) => !wanted.has(name) && name.endsWith('.webp'));
    await Promise.all(stale.map((name) => rm(join(this.folder, name), { force: true })));
    return stale.length;
  }
}
