import { setTimeout as sleep } from 'node:timers/promises';
import { readBodyChunks } from './bodyChunks.ts';
import { abortError, isAbortError, ModelStoreError } from './modelStoreError.ts';

/** What a HEAD on `/<repo>/resolve/<revision>/<file>` tells about one file (huggingface_hub's HfFileMetadata). */
export interface HubFileMetadata {
  /** The 40-hex commit the revision resolved to (X-Repo-Commit). */
  commit: string;
  /** X-Linked-Etag (LFS: the sha256) or ETag (git blob sha1), without quotes or W/. */
  etag: string;
  /** X-Linked-Size, or Content-Length when the file is served without a redirect. */
  size: number;
  /** Where to GET the bytes: the file store for LFS files (a signed URL), else the resolve URL. */
  location: string;
}

/** One entry of `siblings` in `/api/models/<repo>/revision/<rev>?blobs=true`. */
export interface HubSibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256: string; size: number; pointerSize?: number };
}

export interface HubModelInfo {
  sha?: string;
  siblings: HubSibling[];
}

export interface HubClientOptions {
  endpoint: string;
  token?: string;
  signal?: AbortSignal;
  /** Limit for metadata requests (HEAD, model info); downloads have a stall watchdog instead. */
  metadataTimeoutMs?: number;
  /** Pauses before each retry of a failed request; [500, 2000] by default. */
  retryDelaysMs?: number[];
  /**
   * Largest API answer read (the file list): a repository's listing is kilobytes, and a server that
   * sends gigabytes must not have them read into memory. 16 MiB by default.
   */
  maxApiResponseBytes?: number;
}

export const defaultMaxApiResponseBytes = 16 * 1024 * 1024;

/** The body as text, read only up to `maxBytes`: past it the rest is not received. */
export async function readBodyCapped(response: Response, maxBytes: number, what: string, signal?: AbortSignal): Promise<string> {
  const declared = parseSize(response.headers.get('content-length'));
  if (declared !== undefined && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ModelStoreError('http', `${what}: the server announced ${declared.toLocaleString('en-US')} bytes, more than the ${maxBytes.toLocaleString('en-US')} accepted; not read.`);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of readBodyChunks(response.body, signal)) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new ModelStoreError('http', `${what}: the answer runs past ${maxBytes.toLocaleString('en-US')} bytes; not read further.`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const maxRedirects = 10;
const retryableStatuses = new Set([429, 500, 502, 503, 504]);
const userAgent = 'letterpress/0.1 (huggingface_hub-compatible)';

function isAbsoluteUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('//');
}

export function normalizeEtag(etag: string | null): string | undefined {
  if (etag === null) return undefined;
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

function parseSize(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

export class HubClient {
  readonly endpoint: string;
  private readonly endpointHost: string;

  constructor(private readonly options: HubClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    let url: URL;
    try {
      url = new URL(this.endpoint);
    } catch {
      throw new ModelStoreError('bad-input', `The hub endpoint "${options.endpoint}" (HF_ENDPOINT) is not a URL.`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ModelStoreError('bad-input', `The hub endpoint "${options.endpoint}" must be an http(s) URL.`);
    }
    this.endpointHost = url.host;
  }

  resolveUrl(repoId: string, revision: string, file: string): string {
    const path = file.split('/').map(encodeURIComponent).join('/');
    return `${this.endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${path}`;
  }

  private headers(url: string, withAuth: boolean, extra: Record<string, string> = {}): Record<string, string> {
    // Identity encoding: sizes, hashes and Range offsets all refer to the stored bytes.
    const headers: Record<string, string> = { 'user-agent': userAgent, 'accept-encoding': 'identity', ...extra };
    if (withAuth && this.options.token && new URL(url).host === this.endpointHost) {
      headers.authorization = `Bearer ${this.options.token}`;
    }
    return headers;
  }

  private metadataSignal(): AbortSignal {
    const timeout = AbortSignal.timeout(this.options.metadataTimeoutMs ?? 30_000);
    return this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
  }

  /**
   * One request, tried again after a pause on a refused or reset connection and on 429/5xx (as
   * huggingface_hub's backoff does), unless `retry` is off: with a cached copy at hand, failing
   * fast to the cache is better than waiting.
   */
  private async request(
    url: string,
    makeInit: () => RequestInit & { signal: AbortSignal },
    what: string,
    retry = true,
  ): Promise<Response> {
    const delays = retry ? (this.options.retryDelaysMs ?? [500, 2_000]) : [];
    for (let attempt = 0; ; attempt++) {
      const init = makeInit();
      try {
        const response = await fetch(url, { ...init, redirect: 'manual' });
        if (!retryableStatuses.has(response.status) || attempt >= delays.length) return response;
        await response.body?.cancel().catch(() => undefined);
      } catch (error) {
        if (this.options.signal?.aborted) throw abortError(this.options.signal);
        if (isAbortError(error) || init.signal.aborted) {
          throw new ModelStoreError('network', `${new URL(url).host} did not answer in time while ${what}. Check your connection and try again.`, { cause: error });
        }
        if (attempt >= delays.length) throw networkError(url, what, error);
      }
      await sleep(delays[attempt], undefined, { signal: this.options.signal }).catch(() => {
        throw abortError(this.options.signal);
      });
    }
  }

  /** HEAD without following redirects to the file store; relative redirects (a renamed repo) are followed. */
  async fileMetadata(repoId: string, revision: string, file: string, retry = true): Promise<HubFileMetadata> {
    let url = this.resolveUrl(repoId, revision, file);
    const what = `asking ${this.endpoint} about ${repoId}/${file}`;
    for (let hop = 0; ; hop++) {
      const response = await this.request(url, () => ({ method: 'HEAD', headers: this.headers(url, true), signal: this.metadataSignal() }), what, retry);
      const location = response.headers.get('location');
      const redirected = response.status >= 300 && response.status < 400;
      if (redirected && location && !isAbsoluteUrl(location) && hop < maxRedirects) {
        url = new URL(location, url).toString();
        continue;
      }
      if (!redirected && !response.ok) throw await httpError(response, repoId, revision, file);
      const commit = response.headers.get('x-repo-commit') ?? undefined;
      const etag = normalizeEtag(response.headers.get('x-linked-etag') ?? response.headers.get('etag'));
      const size = parseSize(response.headers.get('x-linked-size')) ?? (redirected ? undefined : parseSize(response.headers.get('content-length')));
      if (!commit || !/^[0-9a-f]{40}$/.test(commit)) {
        throw new ModelStoreError(
          'http',
          `${this.endpoint} answered for ${file} without a commit id (X-Repo-Commit), so it does not look like a Hugging Face hub. Check HF_ENDPOINT and any proxy or firewall.`,
        );
      }
      if (!etag) throw new ModelStoreError('http', `${this.endpoint} sent no ETag for ${repoId}/${file}; the file cannot be verified.`);
      if (size === undefined) throw new ModelStoreError('http', `${this.endpoint} sent no size for ${repoId}/${file}; the file cannot be verified.`);
      // Served here: download it at the commit, not at a branch that could move meanwhile.
      const pinnedUrl = url.replace(/\/resolve\/[^/]+\//, `/resolve/${commit}/`);
      return { commit, etag, size, location: redirected && location ? new URL(location, url).toString() : pinnedUrl };
    }
  }

  async modelInfo(repoId: string, revision: string): Promise<HubModelInfo> {
    let url = `${this.endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}?blobs=true`;
    let response: Response;
    for (let hop = 0; ; hop++) {
      response = await this.request(url, () => ({ headers: this.headers(url, true, { accept: 'application/json' }), signal: this.metadataSignal() }), `listing ${repoId}`);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location && !isAbsoluteUrl(location) && hop < maxRedirects) {
        await response.body?.cancel().catch(() => undefined);
        url = new URL(location, url).toString();
        continue;
      }
      break;
    }
    if (!response.ok) throw await httpError(response, repoId, revision);
    const text = await readBodyCapped(response, this.options.maxApiResponseBytes ?? defaultMaxApiResponseBytes, `${this.endpoint}'s file list for ${repoId}`, this.options.signal);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new ModelStoreError('http', `${this.endpoint} sent a file list for ${repoId} that is not JSON.`, { cause: error });
    }
    const info = body as { sha?: unknown; siblings?: unknown };
    if (!info || !Array.isArray(info.siblings) || info.siblings.some((s) => typeof (s as HubSibling)?.rfilename !== 'string')) {
      throw new ModelStoreError('http', `${this.endpoint} sent a file list for ${repoId} without "siblings".`);
    }
    return { sha: typeof info.sha === 'string' ? info.sha : undefined, siblings: info.siblings as HubSibling[] };
  }

  /**
   * GET with an optional Range, following redirects by hand so that the token only ever goes to the
   * hub's own host: a signed file-store URL must not receive it.
   */
  async openDownload(url: string, offset: number, signal: AbortSignal, what: string): Promise<Response> {
    let withAuth = true;
    let current = url;
    for (let hop = 0; ; hop++) {
      const extra: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
      const headers = this.headers(current, withAuth, extra);
      if (!headers.authorization) withAuth = false;
      const response = await this.request(current, () => ({ headers, signal }), what);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel().catch(() => undefined);
        if (hop >= maxRedirects) throw new ModelStoreError('http', `Too many redirects while ${what}.`);
        const next = new URL(location, current);
        if (next.protocol !== 'https:' && next.protocol !== 'http:') {
          throw new ModelStoreError('http', `Refusing a redirect to ${next.protocol} while ${what}.`);
        }
        current = next.toString();
        continue;
      }
      return response;
    }
  }
}

export function networkError(url: string, what: string, error: unknown): ModelStoreError {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new ModelStoreError(
    'network',
    `Cannot reach ${new URL(url).host} while ${what} (${detail}). Check your internet connection or proxy; a model downloaded before can be used offline with HF_HUB_OFFLINE=1.`,
    { cause: error },
  );
}

export async function httpError(response: Response, repoId: string, revision: string, file?: string): Promise<ModelStoreError> {
  await response.body?.cancel().catch(() => undefined);
  const code = response.headers.get('x-error-code');
  const serverMessage = response.headers.get('x-error-message');
  const target = file ? `${repoId}/${file} at "${revision}"` : `${repoId} at "${revision}"`;
  const suffix = serverMessage ? ` The hub says: ${serverMessage}` : '';
  let message: string;
  if (code === 'GatedRepo' || (response.status === 403 && code !== 'RepoNotFound')) {
    message = `Access to ${repoId} is refused (HTTP ${response.status}). If it is gated, accept its terms on huggingface.co with the account of your token (HF_TOKEN or the Letterpress token setting).`;
  } else if (response.status === 401 || code === 'RepoNotFound') {
    message = `${repoId} was not found or needs a Hugging Face token (HTTP ${response.status}). Check the repository id, or set HF_TOKEN / add a token in Letterpress settings if it is private or gated.`;
  } else if (code === 'RevisionNotFound') {
    message = `${repoId} has no revision "${revision}". Check --revision.`;
  } else if (code === 'EntryNotFound' || response.status === 404) {
    message = `${target} does not exist on the hub (HTTP 404).`;
  } else if (response.status === 429) {
    message = `The hub is rate-limiting requests (HTTP 429). Wait a minute and try again.`;
  } else {
    message = `The hub answered HTTP ${response.status} for ${target}. Try again later.`;
  }
  return new ModelStoreError('http', message + suffix);
}
