// A local stand-in for the Hugging Face hub, serving a model folder (by default the tiny SD2
// fixture) the way huggingface.co does: resolve URLs with X-Repo-Commit, X-Linked-Etag/-Size and a
// 302 to a file store on a second loopback host for LFS files, git-sha1 ETags for small files,
// Range requests, the model-info API, and switches for the faults a real network produces.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach } from 'node:test';
import { tinyModelDir } from './fixturePaths.ts';
import { requiredModelFiles } from '../runtime/modelStore/requiredModelFiles.ts';

export type HubFault =
  /** A complete response, but shorter than the file (Content-Length matches the short body). */
  | { kind: 'truncate'; bytes: number }
  /** The whole file with one byte changed. */
  | { kind: 'flipByte'; offset: number }
  /** An HTML error page with status 200, chunked (no Content-Length). */
  | { kind: 'htmlPage' }
  /** Answers a Range request with 200 and the whole file. */
  | { kind: 'ignoreRange' }
  /** Answers a Range request with 416. */
  | { kind: 'rangeNotSatisfiable' }
  /** Sends this many body bytes, then destroys the connection. */
  | { kind: 'dropConnection'; afterBytes: number }
  /** Sends this many body bytes, then nothing more while keeping the connection open (ignoreRange: answering 200 from byte 0). */
  | { kind: 'stall'; afterBytes: number; ignoreRange?: boolean }
  /** Sends the file up to byte `afterBytes`, then one byte every `intervalMs`, keeping the connection open. */
  | { kind: 'trickle'; afterBytes: number; intervalMs: number }
  /** Gzips the body despite `Accept-Encoding: identity`, as some proxies do. */
  | { kind: 'gzip' };

export interface RecordedRequest {
  host: 'hub' | 'cdn';
  method: string;
  url: string;
  authorization?: string;
  range?: string;
  status?: number;
  /** performance.now() when the request arrived and when its response closed (sent or cut). */
  startedAt: number;
  endedAt?: number;
}

interface StoredFile {
  content: Buffer;
  sha256: string;
  gitSha1: string;
  lfs: boolean;
}

export interface HubServerOptions {
  repoId?: string;
  modelDir?: string;
  /** When set, the hub host answers 401 to requests without `Authorization: Bearer <token>`. */
  requireToken?: string;
  /** Throttles every file body (bytes per second); 0 = as fast as possible. */
  bytesPerSecond?: number;
  /** An earlier name of the repository: its URLs answer 307 with a relative Location, as the hub does after a rename. */
  renamedFrom?: string;
  /** ETags that are not content hashes ("v1-…"), as plain web servers send; the file list keeps its hashes unless `listHashes` is false. */
  opaqueEtags?: boolean;
  /** False: the model-info listing carries no blobId and no lfs entry (sizes only). */
  listHashes?: boolean;
}

const lfsSuffixes = ['.safetensors', '.bin', '.ckpt', '.pt', '.onnx', '.msgpack', '.h5'];

function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function storeFile(path: string, content: Buffer): StoredFile {
  return {
    content,
    sha256: createHash('sha256').update(content).digest('hex'),
    gitSha1: gitBlobSha1(content),
    lfs: lfsSuffixes.some((s) => path.endsWith(s)) || content.length > 10 * 1024 * 1024,
  };
}

const treeCache = new Map<string, Map<string, StoredFile>>();

/** Reads and hashes a model folder once per test process; every server of the file shares it. */
function loadTree(dir: string): Map<string, StoredFile> {
  let tree = treeCache.get(dir);
  if (!tree) {
    tree = new Map();
    for (const [path, content] of readTree(dir)) tree.set(path, storeFile(path, content));
    tree.set('README.md', storeFile('README.md', Buffer.from('# tiny-sd2\nA test model.\n')));
    treeCache.set(dir, tree);
  }
  return tree;
}

function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      // Hidden entries are not the repository's (e.g. .letterpress/, where older versions cached ONNX graphs).
      if (name.startsWith('.')) continue;
      const full = join(current, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.set(relative(dir, full).split(sep).join('/'), readFileSync(full));
    }
  };
  walk(dir);
  return files;
}

async function listen(server: Server, host: string): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export class HubServer {
  readonly repoId: string;
  endpoint = '';
  cdnOrigin = '';
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted by either host. */
  connections = 0;
  bytesPerSecond: number;
  /** Names added to the model-info listing (to serve hostile file names). */
  extraSiblings: string[] = [];
  /** Bytes of padding streamed inside the model-info JSON (an API answer that never ends). */
  modelInfoPadding = 0;
  /** The next requests to each host answer with these statuses (a hub or file store hiccup). */
  readonly failures: Record<'hub' | 'cdn', (number | { status: number; code: string })[]> = { hub: [], cdn: [] };
  /** Called as a file body starts to be served (GET), e.g. to move `main` mid-download. */
  onFileServed?: (path: string, commit: string) => void;
  private readonly commits = new Map<string, Map<string, StoredFile>>();
  private readonly branches = new Map<string, string>();
  private readonly faults = new Map<string, { fault: HubFault; times: number }>();
  private readonly bodyBytes = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly hub: Server;
  private readonly cdn: Server;
  private commitCounter = 0;

  constructor(private readonly options: HubServerOptions = {}) {
    this.repoId = options.repoId ?? 'letterpress-test/tiny-sd2';
    this.bytesPerSecond = options.bytesPerSecond ?? 0;
    this.branches.set('main', this.addCommitFiles(new Map(loadTree(options.modelDir ?? tinyModelDir))));
    this.hub = createServer((req, res) => void this.handle('hub', req, res));
    this.cdn = createServer((req, res) => void this.handle('cdn', req, res));
    for (const server of [this.hub, this.cdn]) {
      server.on('connection', (socket: Socket) => {
        this.connections++;
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      });
    }
  }

  async start(): Promise<this> {
    this.endpoint = `http://127.0.0.1:${await listen(this.hub, '127.0.0.1')}`;
    this.cdnOrigin = `http://127.0.0.2:${await listen(this.cdn, '127.0.0.2')}`;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([this.hub, this.cdn].map((s) => (s.listening ? new Promise((r) => s.close(r)) : undefined)));
  }

  private addCommitFiles(files: Map<string, StoredFile>): string {
    const id = createHash('sha1')
      .update(`commit ${this.commitCounter++}\n`)
      .update([...files].map(([p, f]) => `${p} ${f.gitSha1}`).join('\n'))
      .digest('hex');
    this.commits.set(id, files);
    return id;
  }

  /** The ETag a file is served with: its hash, or with opaqueEtags a version tag derived from it. */
  etagOf(hash: string): string {
    return this.options.opaqueEtags ? `v1-${hash.slice(0, 12)}` : hash;
  }

  main(): string {
    return this.branches.get('main')!;
  }

  /** The bytes of a file at a commit (main by default). */
  file(path: string, commit = this.main()): StoredFile {
    const file = this.commits.get(commit)?.get(path);
    if (!file) throw new Error(`no ${path} at ${commit}`);
    return file;
  }

  /** A new commit on top of main with some files changed (null deletes); moves main to it. */
  commit(changes: Record<string, Buffer | string | null>): string {
    const files = new Map(this.commits.get(this.main()));
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) files.delete(path);
      else files.set(path, storeFile(path, Buffer.from(content)));
    }
    const id = this.addCommitFiles(files);
    this.branches.set('main', id);
    return id;
  }

  /** Makes the next `times` GETs of `path`'s bytes misbehave. */
  setFault(path: string, fault: HubFault, times = 1): void {
    this.faults.set(path, { fault, times });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Body bytes sent for a repo file, over every GET so far (to prove a file was fetched once). */
  servedBytes(path: string): number {
    return this.bodyBytes.get(path) ?? 0;
  }

  private takeFault(path: string): HubFault | undefined {
    const entry = this.faults.get(path);
    if (!entry || entry.times <= 0) return undefined;
    entry.times--;
    return entry.fault;
  }

  private async handle(host: 'hub' | 'cdn', req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: RecordedRequest = {
      host,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      authorization: req.headers.authorization,
      range: req.headers.range,
      startedAt: performance.now(),
    };
    this.requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    res.on('close', () => (record.endedAt = performance.now()));
    const failure = this.failures[host].shift();
    if (typeof failure === 'number') return this.error(res, failure, undefined, 'Service temporarily unavailable');
    if (failure) return this.error(res, failure.status, failure.code, `Refused: ${failure.code}`);
    try {
      if (host === 'cdn') return await this.serveCdn(req, res);
      if (this.options.requireToken && req.headers.authorization !== `Bearer ${this.options.requireToken}`) {
        return this.error(res, 401, 'RepoNotFound', 'Invalid username or password.');
      }
      const url = new URL(req.url ?? '/', this.endpoint);
      const path = url.pathname;
      const old = this.options.renamedFrom;
      if (old && (path.startsWith(`/${old}/`) || path.startsWith(`/api/models/${old}/`))) {
        const location = `${path.replace(`/${old}/`, `/${this.repoId}/`)}${url.search}`;
        res.writeHead(307, { location, 'content-type': 'text/plain' }).end(`Temporary Redirect. Redirecting to ${location}`);
        return;
      }
      const repoPrefix = `/${this.repoId}/resolve/`;
      const apiPrefix = `/api/models/${this.repoId}/revision/`;
      if (path.startsWith(repoPrefix)) return await this.serveResolve(req, res, path.slice(repoPrefix.length));
      if (path.startsWith(apiPrefix)) return this.serveModelInfo(res, decodeURIComponent(path.slice(apiPrefix.length)), url);
      return this.error(res, 401, 'RepoNotFound', 'Repository not found');
    } catch (error) {
      if (!res.headersSent) this.error(res, 500, undefined, String(error));
      else res.destroy();
    }
  }

  private error(res: ServerResponse, status: number, code: string | undefined, message: string, commit?: string): void {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-error-message': message };
    if (code) headers['x-error-code'] = code;
    if (commit) headers['x-repo-commit'] = commit;
    res.writeHead(status, headers).end(JSON.stringify({ error: message }));
  }

  private resolveRevision(revision: string): string | undefined {
    const commit = this.branches.get(revision) ?? revision;
    return this.commits.has(commit) ? commit : undefined;
  }

  private async serveResolve(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    const slash = rest.indexOf('/');
    const revision = decodeURIComponent(rest.slice(0, slash));
    const path = rest.slice(slash + 1).split('/').map(decodeURIComponent).join('/');
    const commit = this.resolveRevision(revision);
    if (!commit) return this.error(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
    const file = this.commits.get(commit)!.get(path);
    if (!file) return this.error(res, 404, 'EntryNotFound', `Entry not found`, commit);
    if (file.lfs) {
      const location = `${this.cdnOrigin}/repos/${file.sha256.slice(0, 2)}/${file.sha256}?X-Amz-Signature=${commit.slice(0, 16)}&file=${encodeURIComponent(path)}`;
      const body = `Found. Redirecting to ${location}`;
      res.writeHead(302, {
        location,
        'x-repo-commit': commit,
        'x-linked-etag': `"${this.etagOf(file.sha256)}"`,
        'x-linked-size': String(file.content.length),
        // The hub's own ETag on the redirect is not the content hash; clients must prefer X-Linked-Etag.
        etag: `W/"${gitBlobSha1(Buffer.from(body)).slice(0, 24)}"`,
        'content-type': 'text/plain; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    await this.serveBytes(req, res, path, commit, file, { etag: `"${this.etagOf(file.gitSha1)}"`, 'x-repo-commit': commit });
  }

  private async serveCdn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.cdnOrigin);
    const sha256 = url.pathname.split('/').pop() ?? '';
    for (const [commit, files] of this.commits) {
      for (const [path, file] of files) {
        if (file.sha256 === sha256 && file.lfs) {
          return this.serveBytes(req, res, path, commit, file, { etag: `"${sha256}"` });
        }
      }
    }
    res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
  }

  private async serveBytes(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    commit: string,
    file: StoredFile,
    headers: Record<string, string>,
  ): Promise<void> {
    const size = file.content.length;
    const base = { ...headers, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...base, 'content-length': String(size) }).end();
      return;
    }
    this.onFileServed?.(path, commit);
    const fault = this.takeFault(path);
    if (fault?.kind === 'htmlPage') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>Please try again.</p></body></html>');
      return;
    }
    let body = file.content;
    let status = 200;
    let start = 0;
    const extra: Record<string, string> = {};
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && fault?.kind === 'rangeNotSatisfiable') {
      res.writeHead(416, { ...base, 'content-range': `bytes */${size}` }).end();
      return;
    }
    if (range && fault?.kind !== 'ignoreRange' && !(fault?.kind === 'stall' && fault.ignoreRange)) {
      start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size || start > end) {
        res.writeHead(416, { ...base, 'content-range': `bytes */${size}` }).end();
        return;
      }
      body = file.content.subarray(start, end + 1);
      status = 206;
      extra['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    if (fault?.kind === 'flipByte') {
      body = Buffer.from(body);
      body[fault.offset] ^= 0xff;
    }
    if (fault?.kind === 'truncate') body = body.subarray(0, fault.bytes);
    if (fault?.kind === 'gzip') {
      body = gzipSync(body);
      extra['content-encoding'] = 'gzip';
    }
    res.writeHead(status, { ...base, ...extra, 'content-length': String(body.length) });
    // The connection fails mid-body, so the client has the headers before it does.
    if (fault?.kind === 'dropConnection' || fault?.kind === 'stall' || fault?.kind === 'trickle') res.flushHeaders();
    // The trickle starts at a byte of the file, whatever the range asked for.
    if (fault?.kind === 'trickle') return this.trickle(res, path, body, Math.max(0, fault.afterBytes - start), fault.intervalMs);
    const stopAfter = fault?.kind === 'dropConnection' || fault?.kind === 'stall' ? fault.afterBytes : Infinity;
    await this.writeBody(res, path, body, stopAfter, fault?.kind === 'stall');
  }

  private async trickle(res: ServerResponse, path: string, body: Buffer, afterBytes: number, intervalMs: number): Promise<void> {
    const count = (bytes: number) => this.bodyBytes.set(path, (this.bodyBytes.get(path) ?? 0) + bytes);
    res.write(body.subarray(0, afterBytes));
    count(Math.min(afterBytes, body.length));
    for (let offset = afterBytes; offset < body.length && !res.destroyed; offset++) {
      await sleep(intervalMs);
      if (res.destroyed) return;
      res.write(body.subarray(offset, offset + 1));
      count(1);
    }
    if (!res.destroyed) res.end();
  }

  private async writeBody(res: ServerResponse, path: string, body: Buffer, stopAfter: number, stall = false): Promise<void> {
    const chunkSize = 16 * 1024;
    for (let offset = 0; offset < body.length; offset += chunkSize) {
      if (res.destroyed) return;
      const chunk = body.subarray(offset, Math.min(offset + chunkSize, body.length, stopAfter));
      if (chunk.length > 0) {
        this.bodyBytes.set(path, (this.bodyBytes.get(path) ?? 0) + chunk.length);
        if (!res.write(chunk)) await drainOrClose(res);
      }
      if (offset + chunkSize >= stopAfter) {
        if (stall) {
          if (!res.destroyed) await new Promise((resolve) => res.once('close', resolve));
          return;
        }
        await sleep(20);
        res.destroy();
        return;
      }
      if (this.bytesPerSecond > 0) await sleep((chunk.length / this.bytesPerSecond) * 1000);
    }
    res.end();
  }

  private serveModelInfo(res: ServerResponse, revision: string, url: URL): void {
    const commit = this.resolveRevision(revision);
    if (!commit) return this.error(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
    const blobs = url.searchParams.get('blobs') === 'true';
    const siblings: unknown[] = [...this.commits.get(commit)!].map(([path, file]) => {
      if (!blobs) return { rfilename: path };
      if (this.options.listHashes === false) return { rfilename: path, size: file.content.length };
      const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${file.sha256}\nsize ${file.content.length}\n`;
      return file.lfs
        ? {
            rfilename: path,
            size: file.content.length,
            blobId: gitBlobSha1(Buffer.from(pointer)),
            lfs: { sha256: file.sha256, size: file.content.length, pointerSize: pointer.length },
          }
        : { rfilename: path, size: file.content.length, blobId: file.gitSha1 };
    });
    for (const name of this.extraSiblings) siblings.push({ rfilename: name, size: 1, blobId: '0'.repeat(40) });
    const body = JSON.stringify({ _id: commit.slice(0, 24), id: this.repoId, modelId: this.repoId, sha: commit, siblings });
    if (this.modelInfoPadding > 0) return void this.streamPaddedInfo(res, body);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  }

  /** The listing with megabytes of padding in front, streamed without a Content-Length. */
  private async streamPaddedInfo(res: ServerResponse, body: string): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.write('{"padding":"');
    const block = Buffer.alloc(64 * 1024, 0x78);
    for (let sent = 0; sent < this.modelInfoPadding && !res.destroyed; sent += block.length) {
      if (!res.write(block)) await drainOrClose(res);
    }
    if (!res.destroyed) res.end(`",${body.slice(1)}`);
  }
}

export async function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  return new HubServer(options).start();
}

/** A throwaway folder (a hub cache for one test). */
export function makeTempDir(prefix = 'lp-store-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sha256Hex(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Every file the pipeline needs is in `modelDir` with exactly the bytes of the served fixture. */
export function assertSameAsFixture(modelDir: string, fixtureDir = tinyModelDir): void {
  for (const file of requiredModelFiles) {
    const got = sha256Hex(readFileSync(join(modelDir, file)));
    const expected = sha256Hex(readFileSync(join(fixtureDir, file)));
    assert.equal(got, expected, `${file} differs from the fixture`);
  }
}

/**
 * A fresh hub stand-in and an empty cache folder for every test of the calling suite, handed to
 * `use` before each test and closed and removed after it.
 */
export function hubPerTest(use: (server: HubServer, cache: ReturnType<typeof makeTempDir>) => void): void {
  let server: HubServer | undefined;
  let cache: ReturnType<typeof makeTempDir> | undefined;
  beforeEach(async () => {
    server = await startHubServer();
    cache = makeTempDir();
    use(server, cache);
  });
  afterEach(async () => {
    await server?.close();
    cache?.remove();
  });
}
