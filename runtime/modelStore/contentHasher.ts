import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Hashes a file's bytes as they stream in: sha256 for LFS files (the hub's X-Linked-Etag), and the
 * git blob sha1 (`sha1("blob <size>\0" + bytes)`, the ETag of small files) for the others.
 */
export class ContentHasher {
  private readonly sha256?: Hash;
  private readonly gitSha1?: Hash;
  bytes = 0;

  /** Only the wanted hashes are computed: on a 3.5 GB UNet a second hash costs seconds of CPU. */
  constructor(expectedSize: number, wanted: { sha256: boolean; gitSha1: boolean } = { sha256: true, gitSha1: true }) {
    if (wanted.sha256) this.sha256 = createHash('sha256');
    if (wanted.gitSha1) this.gitSha1 = createHash('sha1').update(`blob ${expectedSize}\0`);
  }

  update(chunk: Uint8Array): void {
    this.sha256?.update(chunk);
    this.gitSha1?.update(chunk);
    this.bytes += chunk.byteLength;
  }

  /** Feeds the first `length` bytes of a partial file left by an earlier attempt. */
  async updateFromFile(path: string, length: number): Promise<void> {
    if (length === 0) return;
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) this.update(chunk as Buffer);
  }

  digest(): { sha256?: string; gitSha1?: string } {
    return { sha256: this.sha256?.digest('hex'), gitSha1: this.gitSha1?.digest('hex') };
  }
}
