// Liveness (the process answers) and readiness (dependencies usable: policies loaded, store reachable).
import express, { type Router } from 'express';

export function healthRouter(ready: () => Promise<{ ready: boolean; checks: Record<string, boolean> }>): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    let result: { ready: boolean; checks: Record<string, boolean> };
    try {
      result = await ready();
    } catch {
      result = { ready: false, checks: {} };
    }
    res.status(result.ready ? 200 : 503).json({ status: result.ready ? 'ready' : 'not-ready', checks: result.checks });
  });
  return router;
}
