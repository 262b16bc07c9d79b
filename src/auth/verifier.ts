// Verifies the CDS Hooks client JWT (CDS Hooks 2.0 §"Trusting CDS Clients"; best-practices checklist).
// Keys come only from the configured issuer allowlist: a token's `jku` is compared, never fetched, because fetching an
// attacker-chosen URL would let anyone supply the key that verifies their own signature.
import { createHash } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK } from 'jose';
import type { CryptoKey, JWK, JWSAlgorithm, ProtectedHeaderParameters } from 'jose';
import type { Config, TrustedIssuer } from '../config.js';
import type { Logger } from '../logger.js';
import type { SharedReplayGuard } from '../store/types.js';

export interface VerifiedCaller {
  iss: string;
  jti: string;
  tenant?: string;
  kid: string;
}

export type AuthFailureReason =
  | 'missing-bearer'
  | 'malformed'
  | 'alg-not-allowed'
  | 'bad-typ'
  | 'missing-kid'
  | 'unknown-issuer'
  | 'jku-mismatch'
  | 'jwks-unavailable'
  | 'unknown-kid'
  | 'bad-key'
  | 'bad-signature'
  | 'missing-claim'
  | 'aud-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'iat-future'
  | 'too-old'
  | 'replayed-jti';

/** Refusal of a caller. `reason` and the identifiers are for logs only; the HTTP answer is a bare 401. */
export class AuthError extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    readonly details: { iss?: string; kid?: string; jti?: string } = {},
  ) {
    super(`JWT refused: ${reason}`);
    this.name = 'AuthError';
  }
}

export interface JwtVerifier {
  /** False when no trusted issuer is configured: every call is accepted as {@link UNAUTHENTICATED_CALLER}. */
  readonly enabled: boolean;
  /**
   * Resolves with the verified caller or throws {@link AuthError}. `audience` is the exact URL invoked; several may be
   * given when more than one is acceptable (e.g. feedback URL and service URL).
   */
  verify(authorizationHeader: string | undefined, audience: string | readonly string[]): Promise<VerifiedCaller>;
  close?(): void;
  /** Used by the middleware to log refusals. */
  readonly logger?: Logger;
}

export interface JwtVerifierOptions {
  auth: Config['auth'];
  logger: Logger;
  fetch?: typeof fetch;
  /** Clock in milliseconds since the epoch (tests inject one). */
  now?: () => number;
  /** Replay store capacity (default 100 000 jti). */
  maxReplayEntries?: number;
  /** jti memory shared with the service's other processes (PostgreSQL); the per-process memory is always kept too. */
  sharedReplay?: SharedReplayGuard;
}

export const UNAUTHENTICATED_CALLER: Readonly<VerifiedCaller> = Object.freeze({ iss: 'unauthenticated', jti: '', kid: '' });

const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_JTI_LENGTH = 256;
const MAX_JWKS_BYTES = 512 * 1024;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Attacker-controlled strings end up in logs: keep them short. */
const forLog = (value: unknown): string | undefined =>
  typeof value === 'string' ? (value.length > 200 ? `${value.slice(0, 200)}…` : value) : undefined;

const stripSlash = (url: string): string => (url.endsWith('/') ? url.slice(0, -1) : url);

function isRefusedAlg(alg: string): boolean {
  return alg.toLowerCase() === 'none' || /^HS/i.test(alg);
}

/** Whether a JWK can verify a signature made with `alg` (kty/crv match, `use`/`key_ops`/`alg` when present). */
function keyFitsAlg(jwk: JWK, alg: string): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify'))) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (alg.startsWith('ES')) {
    const crv = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg];
    return jwk.kty === 'EC' && jwk.crv === crv;
  }
  if (alg.startsWith('RS') || alg.startsWith('PS')) return jwk.kty === 'RSA';
  if (alg === 'EdDSA' || alg === 'Ed25519') return jwk.kty === 'OKP' && (jwk.crv === 'Ed25519' || jwk.crv === 'Ed448');
  return false;
}

/** Only the public members: a published set that carelessly includes `d` must not yield a private key. */
function publicPart(jwk: JWK): JWK {
  switch (jwk.kty) {
    case 'EC':
      return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
    case 'RSA':
      return { kty: 'RSA', n: jwk.n, e: jwk.e };
    case 'OKP':
      return { kty: 'OKP', crv: jwk.crv, x: jwk.x };
    default:
      return { kty: jwk.kty };
  }
}

function parseKeySet(body: unknown): JWK[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) {
    throw new Error('not a JWK Set');
  }
  return ((body as { keys: unknown[] }).keys).filter(
    (k): k is JWK => typeof k === 'object' && k !== null && typeof (k as JWK).kty === 'string',
  );
}

/**
 * jti replay memory: a map for lookups plus a min-heap on expiry so expired entries are dropped cheaply and, at the
 * size cap, the entry closest to expiry goes first. Entries in the heap whose expiry no longer matches the map are stale.
 */
class ReplayStore {
  private readonly expiries = new Map<string, number>();
  private readonly heap: { key: string; exp: number }[] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.expiries.size;
  }

  has(key: string, nowSec: number): boolean {
    const exp = this.expiries.get(key);
    return exp !== undefined && exp > nowSec;
  }

  /** Returns how many not-yet-expired entries had to be evicted to make room. */
  add(key: string, exp: number, nowSec: number): number {
    this.prune(nowSec);
    let evicted = 0;
    while (this.expiries.size >= this.capacity && this.heap.length > 0) {
      const top = this.pop()!;
      if (this.expiries.get(top.key) === top.exp) {
        this.expiries.delete(top.key);
        evicted++;
      }
    }
    this.expiries.set(key, exp);
    this.push({ key, exp });
    return evicted;
  }

  clear(): void {
    this.expiries.clear();
    this.heap.length = 0;
  }

  private prune(nowSec: number): void {
    while (this.heap.length > 0 && this.heap[0]!.exp <= nowSec) {
      const top = this.pop()!;
      if (this.expiries.get(top.key) === top.exp) this.expiries.delete(top.key);
    }
  }

  private push(item: { key: string; exp: number }): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.exp <= h[i]!.exp) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private pop(): { key: string; exp: number } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < h.length && h[l]!.exp < h[min]!.exp) min = l;
        if (r < h.length && h[r]!.exp < h[min]!.exp) min = r;
        if (min === i) break;
        [h[min], h[i]] = [h[i]!, h[min]!];
        i = min;
      }
    }
    return top;
  }
}

interface IssuerKeys {
  issuer: TrustedIssuer;
  keys?: JWK[];
  /** When `keys` were last fetched successfully (ms). */
  fetchedAt?: number;
  /** When a fetch was last started (ms), successful or not: the refresh cooldown counts from here. */
  attemptedAt?: number;
  inflight?: Promise<void>;
}

export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const { auth, logger } = options;
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const skew = auth.clockSkewSeconds;
  const allowedAlgs = new Set(auth.algorithms.filter((alg) => !isRefusedAlg(alg)));

  // A Map, not the config object, so that names such as "__proto__" or "toString" are never mistaken for issuers.
  const issuers = new Map<string, IssuerKeys>();
  for (const [iss, issuer] of Object.entries(auth.trustedIssuers)) {
    const entry: IssuerKeys = { issuer };
    if (issuer.jwks) entry.keys = parseKeySet(issuer.jwks);
    issuers.set(iss, entry);
  }
  const enabled = issuers.size > 0;
  const replay = new ReplayStore(options.maxReplayEntries ?? 100_000);
  const imported = new WeakMap<JWK, Map<string, Promise<CryptoKey | Uint8Array>>>();

  async function fetchKeySet(iss: string, url: string): Promise<JWK[]> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), auth.jwksTimeoutMs);
    try {
      const response = await doFetch(url, {
        signal: controller.signal,
        headers: { accept: 'application/json, application/jwk-set+json' },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error('JWK Set too large');
      return parseKeySet(JSON.parse(text));
    } catch (err) {
      const message = controller.signal.aborted ? `timed out after ${auth.jwksTimeoutMs} ms` : (err as Error).message;
      logger.warn({ iss: forLog(iss), jwksUrl: url, err: message }, 'JWKS fetch failed');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One fetch per issuer at a time; concurrent callers await the same one. Failures keep any previous keys. */
  function refresh(iss: string, entry: IssuerKeys): Promise<void> {
    if (entry.inflight) return entry.inflight;
    const url = entry.issuer.jwksUrl!;
    entry.attemptedAt = now();
    entry.inflight = fetchKeySet(iss, url)
      .then(
        (keys) => {
          entry.keys = keys;
          entry.fetchedAt = now();
        },
        () => undefined,
      )
      .finally(() => {
        entry.inflight = undefined;
      });
    return entry.inflight;
  }

  const cooledDown = (entry: IssuerKeys): boolean =>
    entry.attemptedAt === undefined || now() - entry.attemptedAt >= auth.jwksRefreshCooldownSeconds * 1000;

  async function candidateKeys(iss: string, entry: IssuerKeys, kid: string, alg: string): Promise<JWK[]> {
    const select = () => (entry.keys ?? []).filter((k) => k.kid === kid && keyFitsAlg(k, alg));
    if (!entry.issuer.jwksUrl) return select();

    let fetched = false;
    if (entry.inflight) {
      await entry.inflight;
      fetched = true;
    }
    const fresh = entry.keys !== undefined && now() - (entry.fetchedAt ?? 0) < auth.jwksCacheSeconds * 1000;
    // After a failed attempt, stale keys (or none) are used until the cooldown allows another one, so an unreachable
    // JWKS URL is not hit once per incoming request.
    if (!fetched && !fresh && cooledDown(entry)) {
      await refresh(iss, entry);
      fetched = true;
    }
    if (entry.keys === undefined) throw new AuthError('jwks-unavailable');
    let found = select();
    // Unknown kid: the client may have rotated its keys. Rate-limited so junk kids cannot make us hammer the URL.
    if (found.length === 0 && !fetched && cooledDown(entry)) {
      await refresh(iss, entry);
      found = select();
    }
    return found;
  }

  function importKey(jwk: JWK, alg: string): Promise<CryptoKey | Uint8Array> {
    let byAlg = imported.get(jwk);
    if (!byAlg) imported.set(jwk, (byAlg = new Map()));
    let key = byAlg.get(alg);
    if (!key) {
      key = importJWK(publicPart(jwk), alg);
      // A key that fails to import must not stay cached as a rejected promise forever in a hot path; it is cheap to retry.
      key.catch(() => byAlg!.delete(alg));
      byAlg.set(alg, key);
    }
    return key;
  }

  async function verify(
    authorizationHeader: string | undefined,
    audience: string | readonly string[],
  ): Promise<VerifiedCaller> {
    if (!enabled) return { ...UNAUTHENTICATED_CALLER };

    const match = /^Bearer +(\S+) *$/i.exec(authorizationHeader ?? '');
    if (!match) throw new AuthError('missing-bearer');
    const token = match[1]!;
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw new AuthError('malformed');

    let header: ProtectedHeaderParameters;
    let unverified: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new AuthError('malformed');
    }
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const unverifiedIss = typeof unverified.iss === 'string' ? unverified.iss : undefined;
    const details = { iss: forLog(unverifiedIss), kid: forLog(kid), jti: forLog(unverified.jti) };

    const alg = header.alg;
    if (typeof alg !== 'string' || isRefusedAlg(alg) || !allowedAlgs.has(alg)) {
      throw new AuthError('alg-not-allowed', details);
    }
    if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt')) {
      throw new AuthError('bad-typ', details);
    }
    if (!kid) throw new AuthError('missing-kid', details);
    if (unverifiedIss === undefined) throw new AuthError('missing-claim', details);

    const entry = issuers.get(unverifiedIss);
    if (!entry) throw new AuthError('unknown-issuer', details);
    if (header.jku !== undefined) {
      if (typeof header.jku !== 'string') throw new AuthError('malformed', details);
      if (entry.issuer.jwksUrl !== undefined && header.jku !== entry.issuer.jwksUrl) {
        throw new AuthError('jku-mismatch', details);
      }
    }

    let candidates: JWK[];
    try {
      candidates = await candidateKeys(unverifiedIss, entry, kid, alg);
    } catch (err) {
      if (err instanceof AuthError) throw new AuthError(err.reason, details);
      throw err;
    }
    if (candidates.length === 0) throw new AuthError('unknown-kid', details);

    let payloadBytes: Uint8Array | undefined;
    let lastFailure: AuthFailureReason = 'bad-signature';
    for (const jwk of candidates) {
      let key: CryptoKey | Uint8Array;
      try {
        key = await importKey(jwk, alg);
      } catch {
        lastFailure = 'bad-key';
        continue;
      }
      try {
        ({ payload: payloadBytes } = await compactVerify(token, key, { algorithms: [alg as JWSAlgorithm] }));
        break;
      } catch (err) {
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
          lastFailure = 'bad-signature';
          continue;
        }
        if (err instanceof joseErrors.JOSEAlgNotAllowed) throw new AuthError('alg-not-allowed', details);
        if (err instanceof joseErrors.JOSEError) throw new AuthError('malformed', details);
        // Anything else is about the key (e.g. an RSA modulus under 2048 bits): try the next candidate.
        lastFailure = 'bad-key';
      }
    }
    if (!payloadBytes) throw new AuthError(lastFailure, details);

    let claims: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(payloadBytes));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
      claims = parsed as Record<string, unknown>;
    } catch {
      throw new AuthError('malformed', details);
    }
    return checkClaims(claims, unverifiedIss, kid, audience, details);
  }

  async function checkClaims(
    claims: Record<string, unknown>,
    iss: string,
    kid: string,
    audience: string | readonly string[],
    details: AuthError['details'],
  ): Promise<VerifiedCaller> {
    const { aud, exp, iat, nbf, jti, tenant } = claims;
    const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (claims.iss !== iss) throw new AuthError('malformed', details);
    if (aud === undefined || exp === undefined || iat === undefined || jti === undefined) {
      throw new AuthError('missing-claim', details);
    }
    if (!isTime(exp) || !isTime(iat) || (nbf !== undefined && !isTime(nbf))) throw new AuthError('malformed', details);
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
      throw new AuthError('malformed', details);
    }
    if (tenant !== undefined && typeof tenant !== 'string') throw new AuthError('malformed', details);

    const expected = new Set((typeof audience === 'string' ? [audience] : audience).map(stripSlash));
    const offered = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
    if (!offered || offered.some((a) => typeof a !== 'string')) throw new AuthError('malformed', details);
    if (!offered.some((a) => expected.has(stripSlash(a as string)))) throw new AuthError('aud-mismatch', details);

    const nowSec = now() / 1000;
    if (exp + skew <= nowSec) throw new AuthError('expired', details);
    if (nbf !== undefined && nbf - skew > nowSec) throw new AuthError('not-yet-valid', details);
    if (iat - skew > nowSec) throw new AuthError('iat-future', details);
    if (nowSec - iat > auth.maxTokenAgeSeconds + skew) throw new AuthError('too-old', details);

    // No await between the check and the record: two concurrent copies of one token cannot both pass.
    const replayKey = `${iss}\u0000${jti}`;
    if (replay.has(replayKey, nowSec)) throw new AuthError('replayed-jti', details);
    // Past this instant the token is refused by exp or by max age anyway, so the jti need not be remembered longer.
    const forgetAt = Math.min(exp, iat + auth.maxTokenAgeSeconds) + skew;
    const evicted = replay.add(replayKey, forgetAt, nowSec);
    if (evicted > 0) logger.warn({ evicted, size: replay.size }, 'jti replay store full: evicted unexpired entries');
    if (options.sharedReplay) {
      // Another worker or replica may have seen this token. Only a hash of issuer + jti leaves the process.
      const claimed = await options.sharedReplay.claim(createHash('sha256').update(replayKey).digest('hex'), forgetAt);
      if (claimed === 'replay') throw new AuthError('replayed-jti', details);
      if (claimed === 'unavailable') logger.warn({ iss: details.iss }, 'shared jti store unavailable: replay checked in this process only');
    }

    const caller: VerifiedCaller = { iss, jti, kid };
    if (tenant !== undefined) caller.tenant = tenant;
    return caller;
  }

  return {
    enabled,
    verify,
    logger,
    close() {
      replay.clear();
    },
  };
}
