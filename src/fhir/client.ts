// A deliberately small FHIR REST client for the fallback queries (prefetch key absent). It only reads and searches,
// never follows a link off the FHIR server's origin (the bearer token is scoped to that server), bounds every request
// in time and size, and reports failures as FhirQueryError whose message carries no resource content and no token,
// so it can be logged and shown in a 412 body as is.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from 'fhir/r4';
import type { Agent } from 'undici';
import type { Logger } from '../logger.js';

export type FhirQueryErrorKind =
  | 'timeout'
  | 'aborted'
  | 'unreachable'
  | `http-${number}`
  | 'operation-outcome'
  | 'garbage'
  | 'too-large'
  | 'bad-url'
  | 'refused';

export class FhirQueryError extends Error {
  constructor(
    readonly kind: FhirQueryErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'FhirQueryError';
  }
}

export interface FhirClientOptions {
  /** `fhirServer` from the hook request (http or https). */
  baseUrl: string;
  /** `fhirAuthorization.access_token`; sent as `Authorization: Bearer …` when present. */
  accessToken?: string;
  /** Per HTTP request (each page counts as one request). */
  timeoutMs: number;
  logger: Logger;
  fetch?: typeof fetch;
  /** Largest response body accepted, in bytes (default 50 MB). */
  maxResponseBytes?: number;
  /**
   * FHIR_SERVER_ALLOWLIST (see `egressDecision`). Absent: any public address, never a loopback, private or
   * link-local one.
   */
  allowlist?: readonly string[];
}

export interface SearchOptions {
  /** Pages fetched at most (the first page included). */
  maxPages: number;
  signal?: AbortSignal;
  /** Label for logs (the prefetch key); never the URL, which holds the patient id. */
  key?: string;
}

export interface ReadOptions {
  signal?: AbortSignal;
  key?: string;
}

export interface SearchResult {
  /** Deduplicated by `Type/id`, OperationOutcome entries removed. */
  resources: Resource[];
  pages: number;
  /** More results existed (a `next` link) that were not fetched: page cap reached or link refused. */
  truncated: boolean;
  /** Short, content-free notes (outcome entries, refused links). */
  warnings: string[];
}

export interface FhirClient {
  readonly baseUrl: string;
  /** Search and return the resources; see `searchPages` for paging details. */
  search(relativeUrl: string, options: SearchOptions): Promise<Resource[]>;
  /** Search following `Bundle.link[next]` up to `maxPages`. `relativeUrl` may also be an absolute same-origin URL. */
  searchPages(relativeUrl: string, options: SearchOptions): Promise<SearchResult>;
  /** Read one resource; 404 and 410 give null. */
  read(relativeUrl: string, options?: ReadOptions): Promise<Resource | null>;
  /** Closes every socket this client opened (called when the request's budget ends): nothing lingers. */
  close(): Promise<void>;
}

// ---- Egress policy -------------------------------------------------------------------------------------------------
// The caller names `fhirServer` and we send its bearer token there: without a policy an authenticated caller could make
// the service query cloud metadata endpoints, its own admin port or anything else on the internal network (SSRF).

/** Addresses that are not the public internet: loopback, private, shared, link-local, unspecified, multicast, …. */
const NON_PUBLIC = (() => {
  const list = new BlockList();
  for (const [net, prefix] of [
    ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host
    ['10.0.0.0', 8],
    ['100.64.0.0', 10], // carrier-grade NAT
    ['127.0.0.0', 8],
    ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, broadcast
  ] as const) {
    list.addSubnet(net, prefix, 'ipv4');
  }
  for (const [net, prefix] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7], // unique local
    ['fe80::', 10], // link-local
    ['ff00::', 8], // multicast
    ['64:ff9b::', 96], // NAT64 (may embed a private IPv4)
  ] as const) {
    list.addSubnet(net, prefix, 'ipv6');
  }
  return list;
})();

/** Whether an IP address (v4, v6 or IPv4-mapped v6) is outside the public internet. */
export function isNonPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare) ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return NON_PUBLIC.check(mapped[1]!, 'ipv4');
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(bare);
  if (hexMapped) {
    const hi = parseInt(hexMapped[1]!, 16);
    const lo = parseInt(hexMapped[2]!, 16);
    return NON_PUBLIC.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  const family = isIP(bare);
  if (family === 4) return NON_PUBLIC.check(bare, 'ipv4');
  if (family === 6) return NON_PUBLIC.check(bare, 'ipv6');
  return true; // not an address at all: refuse
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

export interface EgressDecision {
  allowed: boolean;
  /** An allow-list entry names this host exactly (no wildcard): it may then resolve to a non-public address. */
  explicit: boolean;
}

/**
 * Whether `url` may be queried under `allowlist`: `*` (any origin), or entries `scheme://host[:port]` where `*` stands
 * for one host label (`https://*.example.org`) or the whole host (`https://*`), and `:*` for any port; a missing port
 * means the scheme's default. Host names are compared as the URL parser normalises them (so `2130706433` is
 * `127.0.0.1`).
 */
export function egressDecision(url: URL, allowlist: readonly string[]): EgressDecision {
  const host = url.hostname.toLowerCase();
  const port = url.port || DEFAULT_PORT[url.protocol] || '';
  let allowed = false;
  for (const entry of allowlist) {
    if (entry === '*') {
      allowed = true;
      continue;
    }
    const m = /^(https?:)\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+|\*))?$/i.exec(entry.trim());
    if (!m || m[1]!.toLowerCase() !== url.protocol) continue;
    const entryPort = m[3] ?? DEFAULT_PORT[url.protocol];
    if (entryPort !== '*' && entryPort !== port) continue;
    const pattern = m[2]!.toLowerCase();
    if (!pattern.includes('*')) {
      // Normalise the entry's host the way the URL parser normalised the request's.
      let normalised = pattern;
      try {
        normalised = new URL(`${m[1]}//${pattern}`).hostname.toLowerCase();
      } catch {
        continue;
      }
      if (normalised === host) return { allowed: true, explicit: true };
      continue;
    }
    const re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join(pattern === '*' ? '.+' : '[a-z0-9-]+')}$`);
    if (re.test(host)) allowed = true;
  }
  return { allowed, explicit: false };
}

const refused = () => new FhirQueryError('refused', 'fhirServer is not allowed by the egress policy (FHIR_SERVER_ALLOWLIST)');

/**
 * A DNS lookup for net/tls.connect that refuses non-public answers: the check happens on the addresses actually
 * connected to, so a public name that resolves to 127.0.0.1 or 169.254.169.254 (or rebinds to it) is refused too.
 */
function guardedLookup(
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as LookupAddress[];
    if (list.length === 0 || list.some((a) => isNonPublicAddress(a.address))) {
      const denied: NodeJS.ErrnoException = Object.assign(new Error('egress refused: non-public address'), { code: 'EGRESSREFUSED' });
      return callback(denied, '', 0);
    }
    if (options.all) return callback(null, list);
    return callback(null, list[0]!.address, list[0]!.family);
  });
}

export const DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024;

const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;

/** `x` if it looks like a FHIR type or code, else a placeholder: server text never reaches logs or error bodies. */
const safeName = (x: unknown, pattern = TYPE_NAME): string =>
  typeof x === 'string' && pattern.test(x) ? x : 'unrecognised';

let undiciModule: Promise<typeof import('undici')> | undefined;
const loadUndici = () => (undiciModule ??= import('undici'));

export function createFhirClient(options: FhirClientOptions): FhirClient {
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const { logger, timeoutMs } = options;
  let base: URL;
  try {
    base = new URL(options.baseUrl.replace(/\/+$/, '') + '/');
    if (!/^https?:$/.test(base.protocol)) throw new Error('not http(s)');
  } catch {
    throw new FhirQueryError('bad-url', 'fhirServer is not an absolute http(s) URL');
  }
  const baseUrl = base.href.replace(/\/$/, '');
  const decision = egressDecision(base, options.allowlist ?? ['*']);
  if (!decision.allowed) throw refused();
  // An IP literal is checked here (no DNS lookup happens for it); a name is checked after resolution, at connect time.
  const literal = isIP(base.hostname.replace(/^\[|\]$/g, '')) !== 0;
  if (!decision.explicit && literal && isNonPublicAddress(base.hostname)) throw refused();
  // One connection pool per client (one hook call): close() destroys it, so no socket outlives the request's budget.
  // A host named exactly in the allow-list is trusted with whatever it resolves to (an EHR on the hospital network).
  // undici (≈ 110 modules) is loaded at the first fallback query, not at start-up: most deployments get prefetch.
  let agent: Agent | undefined;
  let closed = false;
  const fetchImpl: typeof fetch =
    options.fetch ??
    (async (input, init) => {
      const undici = await loadUndici();
      // Closed while undici loaded (the call's budget ended): no pool may be made after close().
      if (closed) throw new Error('FHIR client closed');
      agent ??= new undici.Agent({
        connect: decision.explicit ? {} : { lookup: guardedLookup },
        keepAliveTimeout: 1000,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      return undici.fetch(input as string, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
    });
  const headers: Record<string, string> = { Accept: 'application/fhir+json' };
  if (options.accessToken) headers.Authorization = `Bearer ${options.accessToken}`;

  function resolve(url: string): URL {
    let target: URL;
    try {
      target = /^[a-z][a-z0-9+.-]*:/i.test(url) ? new URL(url) : new URL(url.replace(/^\/+/, ''), base);
    } catch {
      throw new FhirQueryError('bad-url', 'FHIR query URL is not valid');
    }
    if (target.origin !== base.origin) {
      throw new FhirQueryError('bad-url', 'FHIR query URL is not on the fhirServer origin');
    }
    return target;
  }

  /** One GET: status + parsed JSON body (undefined for 404/410 when `allowMissing`). */
  async function get(url: URL, signal: AbortSignal | undefined, allowMissing: boolean): Promise<{ status: number; body: unknown }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const failure = (err: unknown): FhirQueryError => {
      if (err instanceof FhirQueryError) return err;
      if (timeout.aborted) return new FhirQueryError('timeout', `FHIR server timed out after ${timeoutMs} ms`);
      if (signal?.aborted) return new FhirQueryError('aborted', 'FHIR query was cancelled');
      const code = (err as { cause?: { code?: unknown } })?.cause?.code;
      if (code === 'EGRESSREFUSED') return refused();
      return new FhirQueryError(
        'unreachable',
        `FHIR server unreachable${typeof code === 'string' && /^[A-Z_]{2,32}$/.test(code) ? ` (${code})` : ''}`,
      );
    };
    let res: Response;
    try {
      // Redirects are not followed: the token must not travel to wherever a redirect points.
      res = await fetchImpl(url, { headers, signal: combined, redirect: 'manual' });
    } catch (err) {
      throw failure(err);
    }
    if (allowMissing && (res.status === 404 || res.status === 410)) {
      await res.body?.cancel().catch(() => undefined);
      return { status: res.status, body: undefined };
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new FhirQueryError(`http-${res.status}`, `FHIR server answered HTTP ${res.status}`);
    }
    let text: string;
    try {
      text = await readLimited(res, maxBytes);
    } catch (err) {
      throw failure(err);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new FhirQueryError('garbage', 'FHIR server returned a response that is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof (body as Resource).resourceType !== 'string') {
      throw new FhirQueryError('garbage', 'FHIR server returned JSON that is not a FHIR resource');
    }
    if ((body as Resource).resourceType === 'OperationOutcome') {
      const issue = (body as OperationOutcome).issue?.[0];
      throw new FhirQueryError(
        'operation-outcome',
        `FHIR server returned an OperationOutcome (${safeName(issue?.severity, /^[a-z-]{1,32}$/)}/${safeName(issue?.code, /^[a-z-]{1,32}$/)}) instead of data`,
      );
    }
    return { status: res.status, body };
  }

  async function searchPages(relativeUrl: string, opts: SearchOptions): Promise<SearchResult> {
    const started = performance.now();
    const resources: Resource[] = [];
    const warnings: string[] = [];
    const seen = new Set<string>();
    const visited = new Set<string>();
    let url: URL | undefined = resolve(relativeUrl);
    let pages = 0;
    let truncated = false;
    let capped = false;
    let status = 0;
    let outcomes = 0;
    try {
      while (url) {
        visited.add(url.href);
        const page = await get(url, opts.signal, false);
        status = page.status;
        pages++;
        const bundle = page.body as Bundle;
        if (bundle.resourceType !== 'Bundle') {
          throw new FhirQueryError('garbage', `FHIR server returned a ${safeName(bundle.resourceType)} instead of a search Bundle`);
        }
        for (const entry of (Array.isArray(bundle.entry) ? bundle.entry : []) as BundleEntry[]) {
          const resource = entry?.resource;
          if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') continue;
          if (entry.search?.mode === 'outcome' || resource.resourceType === 'OperationOutcome') {
            outcomes++;
            continue;
          }
          if (resource.id) {
            const ref = `${resource.resourceType}/${resource.id}`;
            if (seen.has(ref)) continue;
            seen.add(ref);
          }
          resources.push(resource);
        }
        const next = Array.isArray(bundle.link) ? bundle.link.find((l) => l?.relation === 'next')?.url : undefined;
        url = undefined;
        if (typeof next === 'string' && next) {
          let nextUrl: URL | undefined;
          try {
            nextUrl = resolve(next);
          } catch {
            warnings.push('a next-page link pointing outside the fhirServer origin was not followed');
            truncated = true;
          }
          if (nextUrl && visited.has(nextUrl.href)) {
            warnings.push('a next-page link repeating an earlier page was not followed');
          } else if (nextUrl && pages >= opts.maxPages) {
            truncated = capped = true;
          } else {
            url = nextUrl;
          }
        }
      }
    } catch (err) {
      logger.debug(
        { key: opts.key, kind: (err as FhirQueryError).kind, ms: Math.round(performance.now() - started), pages },
        'fhir search failed',
      );
      throw err;
    }
    if (outcomes > 0) warnings.push(`${outcomes} OperationOutcome entr${outcomes === 1 ? 'y' : 'ies'} in the search results skipped`);
    if (capped) warnings.push(`more results than the ${opts.maxPages}-page cap; the rest were not read`);
    logger.debug(
      { key: opts.key, status, ms: Math.round(performance.now() - started), pages, count: resources.length, truncated },
      'fhir search',
    );
    return { resources, pages, truncated, warnings };
  }

  async function read(relativeUrl: string, opts: ReadOptions = {}): Promise<Resource | null> {
    const started = performance.now();
    try {
      const { status, body } = await get(resolve(relativeUrl), opts.signal, true);
      logger.debug(
        { key: opts.key, status, ms: Math.round(performance.now() - started), pages: 1, count: body ? 1 : 0 },
        'fhir read',
      );
      return (body as Resource | undefined) ?? null;
    } catch (err) {
      logger.debug({ key: opts.key, kind: (err as FhirQueryError).kind, ms: Math.round(performance.now() - started) }, 'fhir read failed');
      throw err;
    }
  }

  return {
    baseUrl,
    searchPages,
    search: async (relativeUrl, opts) => (await searchPages(relativeUrl, opts)).resources,
    read,
    close: async () => {
      closed = true;
      await agent?.destroy().catch(() => undefined);
    },
  };
}

/** The body as text, refusing more than `maxBytes` (declared or actually sent) so a broken server cannot exhaust memory. */
async function readLimited(res: Response, maxBytes: number): Promise<string> {
  const tooLarge = () => new FhirQueryError('too-large', `FHIR server response exceeded ${maxBytes} bytes`);
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
