// CORS for browser CDS clients (the public CDS Hooks sandbox). Echo an allow-listed origin, never `*` with
// credentials; preflights carry no Authorization header, so they are answered before authentication.
import type { RequestHandler } from 'express';

export function cors(allowedOrigins: string[]): RequestHandler {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins.map((o) => o.replace(/\/+$/, '')));
  return (req, res, next) => {
    const origin = req.get('origin');
    if (origin && (any || allowed.has(origin))) {
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      if (!any) res.append('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After, X-Request-Id');
    }
    if (req.method === 'OPTIONS') {
      if (origin && (any || allowed.has(origin))) {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept');
        res.setHeader('Access-Control-Max-Age', '600');
      }
      res.status(204).end();
      return;
    }
    next();
  };
}
