// The physical floor: a minimal Express app that does only what any JSON-over-HTTP service must — read and parse the
// request body with the same parser and body limit as the real service — and answers a fixed small response.
// Whatever the real service costs beyond this is its own work (auth, validation, gathering, evaluation, cards, logs).
// Started by bench/run.ts as a child process: PORT and BODY_LIMIT_BYTES come from the environment; loopback only.
import express from 'express';

const port = Number(process.env.PORT ?? 0);
const limit = Number(process.env.BODY_LIMIT_BYTES ?? 5 * 1024 * 1024);

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
const json = express.json({ limit, type: () => true, strict: true });
const FIXED = { cards: [] };
app.post('/cds-services/:id', json, (req, res) => {
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
