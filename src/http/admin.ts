// Admin endpoints: coverage-assertion look-up (billing / prior-authorization linkage) and override analytics.
// Every route requires `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. Without ADMIN_TOKEN the
// routes answer 404 (the feature is off, never open). The /analytics page shell is the one response served without
// the header, because a browser navigation cannot carry it: it contains no data, only the token form (see
// analytics-page.ts). A wrong or missing token on anything that returns data is 401.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../logger.js';
import { InvalidFilterError, validateFilter, type AnalyticsFilter } from '../store/analytics.js';
import type { Store } from '../store/index.js';
import { FRAGMENT_HEADER, NO_LABELS, renderAnalyticsPage, renderReport, reportCsv, type AnalyticsLabels } from './analytics-page.js';
import { badRequest, HttpError, notFound, serviceUnavailable, unauthorized } from './errors.js';

export interface AdminRouterDeps {
  store: Pick<Store, 'getAssertion' | 'overrideAnalytics'>;
  adminToken?: string;
  logger: Logger;
  /** Criterion labels and override-reason displays for the report (ids are shown when absent). */
  labels?: AnalyticsLabels;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time bearer check (hashing first makes the comparison length-independent). */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header ?? '');
  const presented = match?.[1] ?? '';
  const ok = timingSafeEqual(digest(presented), digest(expected));
  return ok && presented.length > 0;
}

type AuthState = 'ok' | 'absent' | 'refused';

const RETRY_AFTER_SECONDS = 5;
const EMPTY_REPORT = { rows: [], criteria: [], byOutcome: [], byPractitioner: [], bySite: [], sharedCards: [] };
const ID_MAX = 256;

const FILTER_PARAMS = ['from', 'to', 'policyId'];

function readFormat(req: Request): 'json' | 'csv' {
  const raw = req.query.format;
  if (raw === undefined || raw === '' || raw === 'json') return 'json';
  if (raw === 'csv') return 'csv';
  throw badRequest('format must be json or csv', ['format']);
}

function readFilter(req: Request, extra: string[] = []): AnalyticsFilter {
  const filter: AnalyticsFilter = {};
  for (const name of ['from', 'to', 'policyId'] as const) {
    const raw = req.query[name];
    if (raw === undefined || raw === '') continue;
    if (typeof raw !== 'string') throw badRequest(`${name} must be given once, as a string`, [name]);
    filter[name] = raw;
  }
  for (const name of Object.keys(req.query)) {
    if (!FILTER_PARAMS.includes(name) && !extra.includes(name)) throw badRequest(`unknown query parameter "${name}"`, [name]);
  }
  try {
    validateFilter(filter);
  } catch (err) {
    if (err instanceof InvalidFilterError) throw badRequest(err.message, [err.parameter]);
    throw err;
  }
  return filter;
}

function storeFailure(err: unknown, log: Logger): HttpError {
  if (err instanceof HttpError) return err;
  log.error({ err: { name: (err as Error)?.name, code: (err as { code?: string })?.code } }, 'admin: store query failed');
  return serviceUnavailable('Storage unavailable; retry later', RETRY_AFTER_SECONDS);
}

export function adminRouter(deps: AdminRouterDeps): Router {
  const router = express.Router();
  const { store, adminToken, logger } = deps;
  const labels = deps.labels ?? NO_LABELS;
  const log = logger.child({ component: 'admin' });

  const authState = (req: Request): AuthState => {
    if (req.headers.authorization === undefined) return 'absent';
    return adminToken !== undefined && bearerMatches(req.headers.authorization, adminToken) ? 'ok' : 'refused';
  };

  const enabled = (_req: Request, _res: Response, next: NextFunction) => {
    if (adminToken === undefined) {
      next(notFound('Admin endpoints are disabled (ADMIN_TOKEN is not set)'));
      return;
    }
    next();
  };

  const requireAdmin = (req: Request, res: Response, next: NextFunction) => {
    if (authState(req) !== 'ok') {
      log.warn({ path: req.path, presented: req.headers.authorization !== undefined }, 'admin: refused');
      next(unauthorized());
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    next();
  };

  router.get('/coverage-assertions/:id', enabled, requireAdmin, async (req, res, next) => {
    try {
      const id = String(req.params.id);
      // Control characters (NUL above all: PostgreSQL text cannot hold it) make an id that cannot exist: 400, not 503.
      if (id.length === 0 || id.length > ID_MAX || /[\u0000-\u001f\u007f]/.test(id)) throw badRequest('invalid coverage-assertion id', ['id']);
      let found;
      try {
        found = await store.getAssertion(id);
      } catch (err) {
        throw storeFailure(err, log);
      }
      if (!found) throw notFound(`No coverage assertion with id ${id}`);
      res.json(found);
    } catch (err) {
      next(err);
    }
  });

  router.get('/analytics/overrides', enabled, requireAdmin, async (req, res, next) => {
    try {
      const filter = readFilter(req, ['format']);
      const format = readFormat(req);
      let report;
      try {
        report = await store.overrideAnalytics(filter);
      } catch (err) {
        throw storeFailure(err, log);
      }
      if (format === 'csv') {
        const name = `pumpcheck-overrides${filter.from ? `-${filter.from}` : ''}${filter.to ? `-to-${filter.to}` : ''}.csv`;
        res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
        res.type('text/csv; charset=utf-8').send(reportCsv(report, labels));
        return;
      }
      res.json({ generatedAt: new Date().toISOString(), filter, ...report });
    } catch (err) {
      next(err);
    }
  });

  router.get('/analytics', enabled, async (req, res, next) => {
    try {
      const state = authState(req);
      if (state === 'refused') {
        log.warn({ path: req.path }, 'admin: refused');
        throw unauthorized();
      }
      // The page's own script asks for just the report (no shell, no second nonce'd <style>/<script>); that is data.
      const fragment = req.get(FRAGMENT_HEADER) === 'report';
      if (fragment && state !== 'ok') throw unauthorized();
      // Filters are validated for both cases so a bad link is answered the same way with or without a token.
      const filter = readFilter(req);
      let report;
      if (state === 'ok') {
        try {
          report = await store.overrideAnalytics(filter);
        } catch (err) {
          throw storeFailure(err, log);
        }
      }
      res.setHeader('Vary', `Authorization, ${FRAGMENT_HEADER}`);
      if (fragment) {
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
        res.type('html').send(renderReport(report ?? EMPTY_REPORT, filter, new Date(), labels));
        return;
      }
      const nonce = randomBytes(16).toString('base64');
      res.setHeader(
        'Content-Security-Policy',
        [
          "default-src 'none'",
          `script-src 'nonce-${nonce}'`,
          `style-src 'nonce-${nonce}'`,
          "connect-src 'self'",
          "img-src 'self' data:",
          "form-action 'none'",
          "frame-ancestors 'none'",
          "base-uri 'none'",
        ].join('; '),
      );
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('X-Frame-Options', 'DENY');
      res.type('html').send(renderAnalyticsPage({ nonce, filter, report, generatedAt: new Date(), labels }));
    } catch (err) {
      next(err);
    }
  });

  return router;
}
