// Environment → typed, validated configuration. Every variable is listed in the README; a bad value stops the start
// with a message naming the variable. Defaults are chosen so `npm start` works on a fresh machine.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Project root: the nearest directory above this module with a package.json (src/ under tsx; the bundle's chunk
 * directory, dist/src/chunks/, after a build). */
export const projectRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the service module');
    dir = up;
  }
  return dir;
})();

export type CrdVersion = '2.0.1' | '2.2';

export interface TrustedIssuer {
  /** JWKS URL for this issuer; the only place keys for it are ever fetched from. */
  jwksUrl?: string;
  /** Inline JWK Set (out-of-band key exchange). */
  jwks?: { keys: Record<string, unknown>[] };
}

export interface Config {
  nodeEnv: string;
  port: number;
  host: string;
  /** Externally visible base URL (scheme://host[:port][/prefix]) used as the JWT `aud` base behind proxies. */
  publicBaseUrl?: string;
  /**
   * Every public base URL the service answers under (PUBLIC_BASE_URL, comma-separated; the first is `publicBaseUrl`).
   * The JWT audience and card links are built from these only; without any (development only) from the Host header.
   */
  publicBaseUrls: string[];
  logLevel: string;
  bodyLimitBytes: number;
  limits: {
    /** Entries of `context.draftOrders` accepted in one hook call (more → 400 naming the limit). */
    maxDraftOrders: number;
    /** Nesting depth of the JSON request body (objects and arrays); deeper → 400. */
    maxJsonDepth: number;
    /** Whole request (headers and body) must arrive within this; a stalled body is cut off after it. */
    requestTimeoutMs: number;
    /** Request headers must arrive within this (≤ requestTimeoutMs). */
    headersTimeoutMs: number;
    /** Failed admin/metrics authentications per client address per minute before 429. */
    authFailuresPerMinute: number;
  };
  corsOrigins: string[];
  auth: {
    trustedIssuers: Record<string, TrustedIssuer>;
    algorithms: string[];
    clockSkewSeconds: number;
    /** Tokens whose `iat` is older than this are refused even if `exp` is later. */
    maxTokenAgeSeconds: number;
    jwksCacheSeconds: number;
    /** Minimum interval between JWKS refreshes triggered by an unknown `kid`. */
    jwksRefreshCooldownSeconds: number;
    jwksTimeoutMs: number;
  };
  fhir: {
    queryTimeoutMs: number;
    totalBudgetMs: number;
    maxPages: number;
    pageSize: number;
    /**
     * Egress policy for `fhirServer`: origins (`scheme://host[:port]`, `*` wildcards in host labels, `:*` any port) or
     * `*` for any. Loopback, private and link-local addresses are reachable only through an entry naming the host
     * exactly (no wildcard), and are checked after DNS resolution.
     */
    serverAllowlist: string[];
  };
  crd: {
    /** CRD version emitted by default (2.0.1 = what Inferno's CRD test kit validates). */
    version: CrdVersion;
    /** Card topic code system of the default version (`topicSystems[version]`). */
    topicSystem: string;
    /** Card topic code system per CRD version a response may be shaped to (CRD_TOPIC_SYSTEM overrides both). */
    topicSystems: Record<CrdVersion, string>;
    /** Include `pa-needed: no-auth` when all criteria are met (PA lists change: configurable). */
    assertNoAuth: boolean;
  };
  cards: {
    /** Emit an info card on order-sign even when every criterion is met. */
    infoWhenCovered: boolean;
    /** SMART app that helps complete the documentation questionnaire (optional). */
    smartAppUrl?: string;
    /** Indicator used for payer findings (CRD reserves critical for life-or-death). */
    findingIndicator: 'info' | 'warning' | 'critical';
  };
  policyDir: string;
  store: {
    databaseUrl?: string;
    dataDir: string;
    patientHashSecret: string;
    queueMax: number;
    retentionDays: number;
    keepFeedbackComments: boolean;
  };
  adminToken?: string;
  /** Bearer token required by GET /metrics when set (metrics carry no PHI, but need not be public). */
  metricsToken?: string;
  webConcurrency: number;
  /**
   * V8 young-generation semi-space for the workers, MiB (0: Node's default, 16). A hook request's parsed body dies
   * with the request; with room for it in the young generation it is never copied into the old one.
   */
  workerSemiSpaceMb: number;
  /** Run under a cluster primary that restarts a dead worker (default true, also with one worker). */
  supervise: boolean;
  shutdownGraceMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${raw}")`);
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined) return fallback;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Outside production, with no FHIR_SERVER_ALLOWLIST: any public server, and a FHIR server on this machine (a sandbox
 * or test server on loopback, any port). Other private networks, link-local and cloud-metadata addresses stay refused.
 * Production starts with an empty list: every fhirServer origin must be configured.
 */
export const DEVELOPMENT_FHIR_ALLOWLIST: readonly string[] = [
  '*',
  'http://127.0.0.1:*',
  'https://127.0.0.1:*',
  'http://localhost:*',
  'https://localhost:*',
  'http://[::1]:*',
  'https://[::1]:*',
];

/** FHIR_SERVER_ALLOWLIST entries: `*`, or `http(s)://host[:port]` where host labels may be `*` and port may be `*`. */
function allowlist(env: Env, name: string, fallback: readonly string[]): string[] {
  const entries = list(env, name, [...fallback]);
  for (const entry of entries) {
    if (entry === '*') continue;
    if (!/^https?:\/\/(\*|\[[0-9a-f:.]+\]|[a-z0-9*](?:[a-z0-9*.-]{0,251}[a-z0-9*])?)(:(\d{1,5}|\*))?\/?$/i.test(entry)) {
      throw new ConfigError(`${name}: "${entry}" is not an origin (scheme://host[:port], * allowed in host labels and as port) or *`);
    }
  }
  return entries.map((e) => e.replace(/\/+$/, '').toLowerCase());
}

function url(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    const parsed = new URL(raw);
    if (!/^https?:$/.test(parsed.protocol)) throw new Error('not http(s)');
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL (got "${raw}")`);
  }
  return raw.replace(/\/+$/, '');
}

function parseTrustedIssuers(env: Env): Record<string, TrustedIssuer> {
  let raw = env.CDS_TRUSTED_ISSUERS;
  let origin = 'CDS_TRUSTED_ISSUERS';
  if ((raw === undefined || raw === '') && env.CDS_TRUSTED_ISSUERS_FILE) {
    origin = `CDS_TRUSTED_ISSUERS_FILE (${env.CDS_TRUSTED_ISSUERS_FILE})`;
    try {
      raw = readFileSync(env.CDS_TRUSTED_ISSUERS_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(`${origin} cannot be read: ${(err as Error).message}`);
    }
  }
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${origin} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${origin} must be a JSON object {"<iss>": {"jwksUrl": "..."} | {"jwks": {...}}}`);
  }
  // Null prototype: an issuer named "__proto__" must be stored as an issuer, not change the object's prototype.
  const issuers: Record<string, TrustedIssuer> = Object.create(null);
  for (const [iss, value] of Object.entries(parsed as Record<string, unknown>)) {
    const entry = value as TrustedIssuer | null;
    if (typeof entry !== 'object' || entry === null) {
      throw new ConfigError(`${origin}: issuer "${iss}" must map to an object`);
    }
    const hasUrl = typeof entry.jwksUrl === 'string' && entry.jwksUrl.length > 0;
    const hasSet = typeof entry.jwks === 'object' && entry.jwks !== null && Array.isArray(entry.jwks.keys);
    if (hasUrl === hasSet) {
      throw new ConfigError(`${origin}: issuer "${iss}" needs exactly one of "jwksUrl" or "jwks" (with a "keys" array)`);
    }
    if (hasUrl) {
      try {
        const u = new URL(entry.jwksUrl!);
        if (!/^https?:$/.test(u.protocol)) throw new Error();
      } catch {
        throw new ConfigError(`${origin}: issuer "${iss}" has an invalid jwksUrl`);
      }
      issuers[iss] = { jwksUrl: entry.jwksUrl! };
    } else {
      issuers[iss] = { jwks: entry.jwks! };
    }
  }
  return issuers;
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = env.NODE_ENV ?? 'development';
  const crdVersion = env.CRD_VERSION ?? '2.0.1';
  if (crdVersion !== '2.0.1' && crdVersion !== '2.2') {
    throw new ConfigError(`CRD_VERSION must be "2.0.1" or "2.2" (got "${crdVersion}")`);
  }
  const findingIndicator = env.CARD_FINDING_INDICATOR ?? 'warning';
  if (!['info', 'warning', 'critical'].includes(findingIndicator)) {
    throw new ConfigError(`CARD_FINDING_INDICATOR must be info, warning or critical (got "${findingIndicator}")`);
  }
  const algorithms = list(env, 'JWT_ALGORITHMS', ['ES384', 'RS384']);
  for (const alg of algorithms) {
    if (alg === 'none' || /^HS/i.test(alg)) {
      throw new ConfigError(`JWT_ALGORITHMS must not contain "${alg}": unsigned and symmetric algorithms are refused`);
    }
    if (!/^(ES|RS|PS)(256|384|512)$|^EdDSA$/.test(alg)) {
      throw new ConfigError(`JWT_ALGORITHMS has an unknown algorithm "${alg}"`);
    }
  }
  const patientHashSecret = env.PATIENT_HASH_SECRET ?? '';
  if (nodeEnv === 'production' && patientHashSecret.length < 16) {
    throw new ConfigError('PATIENT_HASH_SECRET must be set (at least 16 characters) in production');
  }

  const topicSystems: Record<CrdVersion, string> = {
    '2.0.1': env.CRD_TOPIC_SYSTEM ?? 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp',
    '2.2': env.CRD_TOPIC_SYSTEM ?? 'http://terminology.hl7.org/CodeSystem/cdshooks-card-type',
  };

  const publicBaseUrls = list(env, 'PUBLIC_BASE_URL', []).map((raw) => url({ PUBLIC_BASE_URL: raw }, 'PUBLIC_BASE_URL')!);
  const requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000);

  const config: Config = {
    nodeEnv,
    port: int(env, 'PORT', 8080, 0, 65535),
    host: env.HOST ?? '0.0.0.0',
    publicBaseUrl: publicBaseUrls[0],
    publicBaseUrls,
    logLevel: env.LOG_LEVEL ?? 'info',
    // Ten years of self-monitored glucose readings in prefetch is ~14 MB of JSON: 5 MiB would refuse real patients.
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 32 * 1024 * 1024, 1024),
    limits: {
      // A real order set has a handful of orders; 100 is far above any, and bounds the work one request can cause.
      maxDraftOrders: int(env, 'MAX_DRAFT_ORDERS', 100, 1, 10_000),
      // FHIR resources nest about 10 levels (a QuestionnaireResponse's items a few more): 64 is generous.
      maxJsonDepth: int(env, 'MAX_JSON_DEPTH', 64, 8, 1000),
      requestTimeoutMs,
      headersTimeoutMs: Math.min(int(env, 'HEADERS_TIMEOUT_MS', 10_000, 1000, 600_000), requestTimeoutMs),
      authFailuresPerMinute: int(env, 'AUTH_FAILURES_PER_MINUTE', 10, 1, 10_000),
    },
    corsOrigins: list(env, 'CORS_ORIGINS', ['https://sandbox.cds-hooks.org']),
    auth: {
      trustedIssuers: parseTrustedIssuers(env),
      algorithms,
      clockSkewSeconds: int(env, 'JWT_CLOCK_SKEW_SECONDS', 60, 0, 600),
      maxTokenAgeSeconds: int(env, 'JWT_MAX_AGE_SECONDS', 3600, 1),
      jwksCacheSeconds: int(env, 'JWKS_CACHE_SECONDS', 600, 0),
      jwksRefreshCooldownSeconds: int(env, 'JWKS_REFRESH_COOLDOWN_SECONDS', 30, 0),
      jwksTimeoutMs: int(env, 'JWKS_TIMEOUT_MS', 2000, 100),
    },
    fhir: {
      queryTimeoutMs: int(env, 'FHIR_QUERY_TIMEOUT_MS', 1500, 50),
      totalBudgetMs: int(env, 'FHIR_TOTAL_BUDGET_MS', 3000, 100),
      maxPages: int(env, 'FHIR_MAX_PAGES', 10, 1),
      pageSize: int(env, 'FHIR_PAGE_SIZE', 500, 1, 5000),
      // Development: any server (main.ts warns at start-up). Production: none until the deployment names its EHRs'.
      serverAllowlist: allowlist(env, 'FHIR_SERVER_ALLOWLIST', nodeEnv === 'production' ? [] : DEVELOPMENT_FHIR_ALLOWLIST),
    },
    crd: {
      version: crdVersion,
      topicSystem: topicSystems[crdVersion],
      topicSystems,
      assertNoAuth: bool(env, 'CRD_ASSERT_NO_AUTH', false),
    },
    cards: {
      infoWhenCovered: bool(env, 'CARD_INFO_WHEN_COVERED', false),
      smartAppUrl: url(env, 'SMART_APP_URL'),
      findingIndicator: findingIndicator as Config['cards']['findingIndicator'],
    },
    policyDir: env.POLICY_DIR ?? path.join(projectRoot, 'policies'),
    store: {
      databaseUrl: env.DATABASE_URL || undefined,
      dataDir: env.DATA_DIR ?? path.join(projectRoot, 'data'),
      patientHashSecret: patientHashSecret || 'pumpcheck-development-only-secret',
      queueMax: int(env, 'STORE_QUEUE_MAX', 10_000, 1),
      retentionDays: int(env, 'RETENTION_DAYS', 0, 0),
      keepFeedbackComments: bool(env, 'FEEDBACK_KEEP_COMMENTS', false),
    },
    adminToken: env.ADMIN_TOKEN || undefined,
    metricsToken: env.METRICS_TOKEN || undefined,
    webConcurrency: int(env, 'WEB_CONCURRENCY', 1, 1, 64),
    workerSemiSpaceMb: int(env, 'WORKER_SEMI_SPACE_MB', 32, 0, 256),
    supervise: bool(env, 'SUPERVISE', true),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0),
  };

  if (config.fhir.queryTimeoutMs > config.fhir.totalBudgetMs) {
    throw new ConfigError('FHIR_QUERY_TIMEOUT_MS must not exceed FHIR_TOTAL_BUDGET_MS');
  }
  if (nodeEnv === 'production' && Object.keys(config.auth.trustedIssuers).length === 0) {
    throw new ConfigError(
      'No trusted issuers configured: set CDS_TRUSTED_ISSUERS or CDS_TRUSTED_ISSUERS_FILE (required when NODE_ENV=production)',
    );
  }
  if (nodeEnv === 'production' && config.publicBaseUrls.length === 0) {
    throw new ConfigError(
      'PUBLIC_BASE_URL must be set when NODE_ENV=production (comma-separated for several public names): the JWT audience ' +
        'and card links are never taken from the client-supplied Host header',
    );
  }
  if (config.webConcurrency > 1 && !config.store.databaseUrl) {
    throw new ConfigError('WEB_CONCURRENCY > 1 needs DATABASE_URL: the embedded PGlite database serves one process only');
  }
  if (config.adminToken !== undefined && config.adminToken.length < 16) {
    throw new ConfigError('ADMIN_TOKEN must be at least 16 characters');
  }
  return config;
}
