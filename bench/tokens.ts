// The benchmark's CDS client identity: an ES384 key pair, its public JWKS (passed to the service inline through
// CDS_TRUSTED_ISSUERS) and CDS Hooks client JWTs — one per request, unique jti, aud = the exact URL invoked.
// ES384 signing costs ≈ 0.5 ms of CPU (node:crypto, P-384), which the load generator cannot afford per request at
// hundreds of requests/s on a 2-core machine, so tokens are signed ahead into a pool by worker threads; a pool that
// runs dry falls back to signing in the loop, and that count is reported.
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export const BENCH_ISSUER = 'https://bench.pumpcheck.invalid';

export interface BenchIdentity {
  kid: string;
  privateKeyPem: string;
  privateKey: KeyObject;
  /** Public JWK Set to trust. */
  jwks: { keys: Record<string, unknown>[] };
  /** CDS_TRUSTED_ISSUERS value. */
  trustedIssuers: string;
}

export function createIdentity(): BenchIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const kid = `bench-${randomUUID().slice(0, 8)}`;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES384', use: 'sig' };
  const jwks = { keys: [jwk as Record<string, unknown>] };
  return {
    kid,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    privateKey,
    jwks,
    trustedIssuers: JSON.stringify({ [BENCH_ISSUER]: { jwks } }),
  };
}

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** One signed CDS Hooks client JWT (synchronous: usable inside autocannon's setupRequest). */
export function signToken(id: Pick<BenchIdentity, 'kid' | 'privateKey'>, aud: string, lifetimeSeconds = 120): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'ES384', typ: 'JWT', kid: id.kid }));
  const payload = b64url(JSON.stringify({ iss: BENCH_ISSUER, sub: 'pumpcheck-bench', aud, iat: now, exp: now + lifetimeSeconds, jti: randomUUID() }));
  const input = `${header}.${payload}`;
  const sig = sign('sha384', Buffer.from(input), { key: id.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

// Plain CommonJS so it runs in an eval worker without a TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPrivateKey, sign, randomUUID } = require('node:crypto');
const key = createPrivateKey(workerData.pem);
const b64 = (s) => Buffer.from(s).toString('base64url');
const header = b64(JSON.stringify({ alg: 'ES384', typ: 'JWT', kid: workerData.kid }));
const out = [];
for (let i = 0; i < workerData.count; i++) {
  const now = Math.floor(Date.now() / 1000);
  const payload = b64(JSON.stringify({ iss: workerData.iss, sub: 'pumpcheck-bench', aud: workerData.aud, iat: now, exp: now + workerData.lifetime, jti: randomUUID() }));
  const input = header + '.' + payload;
  out.push(input + '.' + b64(sign('sha384', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })));
}
parentPort.postMessage(out);
`;

/** Signs `count` tokens for `aud` on `threads` worker threads. */
export async function presign(id: BenchIdentity, aud: string, count: number, threads = 2, lifetimeSeconds = 120): Promise<string[]> {
  if (count <= 0) return [];
  const per = Math.ceil(count / threads);
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const n = Math.max(0, Math.min(per, count - i * per));
      if (n === 0) return Promise.resolve([] as string[]);
      return new Promise<string[]>((resolve, reject) => {
        const w = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { pem: id.privateKeyPem, kid: id.kid, iss: BENCH_ISSUER, aud, count: n, lifetime: lifetimeSeconds },
        });
        w.once('message', (m: string[]) => resolve(m));
        w.once('error', reject);
      });
    }),
  );
  return parts.flat();
}

/** Hands out one fresh token per request: from the pool while it lasts, then signed on the spot (counted). */
export class TokenSource {
  private next = 0;
  signedInLoop = 0;
  constructor(
    private readonly id: BenchIdentity,
    readonly aud: string,
    private readonly pool: string[] = [],
  ) {}

  take(): string {
    if (this.next < this.pool.length) return this.pool[this.next++]!;
    this.signedInLoop++;
    return signToken(this.id, this.aud);
  }

  get used(): number {
    return this.next + this.signedInLoop;
  }
}

/** Measured cost of one ES384 signature on this machine (ms), for the report. */
export function measureSignCost(id: BenchIdentity, n = 300): number {
  for (let i = 0; i < 30; i++) signToken(id, 'http://127.0.0.1/warmup');
  const t = performance.now();
  for (let i = 0; i < n; i++) signToken(id, 'http://127.0.0.1/measure');
  return (performance.now() - t) / n;
}

