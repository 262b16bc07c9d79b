// The honest floor: a minimal Express app that does what any authenticating CDS service must — read and parse the
// request body with the same parser and body limit as the real service, verify the CDS client's ES384 JWT (jose,
// key imported once and cached, issuer / audience = the exact URL invoked / expiry checked; a fresh token per
// request, as the load generator sends to the service) — and answers a fixed small response.
// Whatever the real service costs beyond this is its own work (validation, gathering, evaluation, cards, store, logs).
// Started by bench/run.ts as a child process: PORT, BODY_LIMIT_BYTES, FLOOR_ISSUER and FLOOR_JWKS (the benchmark
// identity's public JWK Set) come from the environment; loopback only.
import express from 'express';
import { importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';

const port = Number(process.env.PORT ?? 0);
const limit = Number(process.env.BODY_LIMIT_BYTES ?? 5 * 1024 * 1024);
const issuer = process.env.FLOOR_ISSUER ?? '';
const jwks = JSON.parse(process.env.FLOOR_JWKS ?? '{"keys":[]}') as { keys: (JWK & { kid?: string })[] };
const keys = new Map<string, CryptoKey | Uint8Array>();
for (const k of jwks.keys) if (k.kid) keys.set(k.kid, await importJWK(k, 'ES384'));

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
const json = express.json({ limit, type: () => true, strict: true });
const FIXED = { cards: [] };
app.post('/cds-services/:id', async (req, res, next) => {
  const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
  try {
    if (!token) throw new Error('no token');
    await jwtVerify(token, (header) => keys.get(header.kid ?? '') ?? Promise.reject(new Error('unknown kid')), {
      issuer,
      audience: `http://127.0.0.1:${port}${req.path}`,
      algorithms: ['ES384'],
      requiredClaims: ['exp', 'jti'],
    });
  } catch {
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  next();
}, json, (req, res) => {
  if (typeof req.body !== 'object' || req.body === null) {
    res.status(400).json({ error: 'not an object' });
    return;
  }
  res.json(FIXED);
});
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

const server = app.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`floor listening on ${typeof address === 'object' && address ? address.port : port}\n`);
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 30_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
