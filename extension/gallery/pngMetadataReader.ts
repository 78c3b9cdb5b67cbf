// Reads the gallery's PNG text chunks in a worker thread. The output folder can hold files from a
// cloned repository: a crafted PNG must not stall the extension host. The worker reads within
// pngTextLimits (inflation per chunk and in total, chunk counts), its heap is capped, and a file
// that still takes too long ends the worker (a fresh one reads the next file). Free of `vscode`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface MetadataRequest {
  id: number;
  path: string;
  keys?: string[];
}

export type MetadataReply = { id: number; chunks: Record<string, string> } | { id: number; error: string };

export class PngMetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngMetadataError';
  }
}

export interface PngMetadataReaderOptions {
  /** A file not read within this long is given up (and the worker restarted). */
  timeoutMs?: number;
  /** The worker ends after this long without work; the next read starts a new one. */
  idleMs?: number;
}

/** The worker's script: beside the bundle (dist/pngMetadataWorker.js) or, from the sources, beside this file. */
function workerScript(): string {
  const candidates = [join(__dirname, 'pngMetadataWorker.js'), join(__dirname, 'pngMetadataWorker.ts')];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new PngMetadataError(`the gallery's metadata worker is missing (looked for ${candidates.join(', ')}); reinstall Letterpress`);
  return found;
}

interface Pending {
  request: MetadataRequest;
  resolve: (chunks: Record<string, string>) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class PngMetadataReader {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;
  private readonly idleMs: number;

  constructor(options: PngMetadataReaderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.idleMs = options.idleMs ?? 30_000;
  }

  /** The file's text chunks (only `keys` when given); rejects with PngMetadataError when it cannot be read. */
  read(path: string, keys?: string[]): Promise<Record<string, string>> {
    const request: MetadataRequest = { id: this.nextId++, path, ...(keys ? { keys } : {}) };
    return new Promise((resolve, reject) => this.send({ request, resolve, reject }));
  }

  private send(entry: Omit<Pending, 'timer'>): void {
    const worker = this.start();
    clearTimeout(this.idleTimer);
    const { id, path } = entry.request;
    const timer = setTimeout(() => {
      // A file that takes this long is hostile or on a hung disk: stop reading it; the reads queued
      // behind it go to a fresh worker.
      this.stop(new PngMetadataError(`reading ${path} took more than ${this.timeoutMs} ms: given up`), id);
    }, this.timeoutMs);
    this.pending.set(id, { ...entry, timer });
    worker.ref();
    worker.postMessage(entry.request);
  }

  dispose(): void {
    this.stop(new PngMetadataError('the gallery closed'));
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const script = workerScript();
    // From the sources (tests), the worker is TypeScript: tsx's loader is registered in it first.
    const fromSources = script.endsWith('.ts');
    const source = fromSources ? `require('tsx/cjs/api').register(); require(${JSON.stringify(script)});` : script;
    const worker = new Worker(source, {
      eval: fromSources,
      // Bounded memory: a file that gets past the text limits still cannot take the host's memory.
      resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 },
      stdout: false,
      stderr: false,
    });
    worker.on('message', (reply: MetadataReply) => this.settle(reply));
    worker.on('error', (error) => {
      if (this.worker === worker) this.stop(new PngMetadataError(`the metadata worker failed: ${error.message}`));
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.stop(new PngMetadataError('the metadata worker stopped'));
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: MetadataReply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    this.pending.delete(reply.id);
    clearTimeout(entry.timer);
    if ('error' in reply) entry.reject(new PngMetadataError(reply.error));
    else entry.resolve(reply.chunks);
    if (this.pending.size === 0) {
      // An idle worker must not keep the process (a test, the CLI) alive.
      this.worker?.unref();
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.stop(new PngMetadataError('idle')), this.idleMs);
      this.idleTimer.unref();
    }
  }

  /**
   * Ends the worker. `culprit`'s read fails with `error`; the others were only queued behind it and
   * are sent again to a new worker.
   */
  private stop(error: Error, culprit?: number): void {
    const worker = this.worker;
    this.worker = undefined;
    clearTimeout(this.idleTimer);
    if (worker) void worker.terminate();
    const waiting = [...this.pending.entries()];
    this.pending.clear();
    for (const [id, entry] of waiting) {
      clearTimeout(entry.timer);
      if (culprit === undefined || id === culprit) entry.reject(error);
      else this.send(entry);
    }
  }
}

let shared: PngMetadataReader | undefined;

/** One reader (one worker) for every gallery of the window. */
export function sharedPngMetadataReader(): PngMetadataReader {
  shared ??= new PngMetadataReader();
  return shared;
}
