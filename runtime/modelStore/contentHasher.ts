import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Hashes a file's bytes as they stream in: sha256 for LFS files (the hub's X-Linked-Etag), and the
 * git blob sha1 (`sha1("blob <size>\0" + bytes)`, the ETag of small files) for the others.
 */
export class ContentHasher {
  private readonly sha256: Hash = createHash('sha256');
  private readonly gitSha1: Hash;
  bytes = 0;

  constructor(expectedSize: number) {
    this.gitSha1 = createHash('sha1').update(`blob ${expectedSize}\0`);
  }

  update(chunk: Uint8Array): void {
    this.sha256.update(chunk);
    this.gitSha1.update(chunk);
    this.bytes += chunk.byteLength;
  }

  /** Feeds the first `length` bytes of a partial file left by an earlier attempt. */
  async updateFromFile(path: string, length: number): Promise<void> {
    if (length === 0) return;
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) this.update(chunk as Buffer);
  }

  digest(): { sha256: string; gitSha1: string } {
    return { sha256: this.sha256.digest('hex'), gitSha1: this.gitSha1.digest('hex') };
  }
}
