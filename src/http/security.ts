// Response headers and authentication throttling that apply to the whole app.
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from '../logger.js';
import { HttpError } from './errors.js';

/**
 * Security headers on every response (helmet): `X-Content-Type-Options: nosniff`, no referrer, no framing, HSTS, …
 * plus `Cache-Control: no-store`, because hook responses, assertions and analytics carry patient-derived content and
 * no shared or browser cache may keep them. The CSP is left to the pages that render HTML (analytics-page.ts sets its
 * own); cross-origin resource policy is off because the CDS Hooks sandbox calls the service from another origin (CORS
 * decides who may).
 */
export function securityHeaders(): RequestHandler {
  const headers = helmet({
    contentSecurityPolicy: false,
    crossOriginResourcePolicy: false,
    crossOriginEmbedderPolicy: false,
  });
  return (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    headers(req, res, next);
  };
}

export interface AuthThrottleOptions {
  /** Failed authentications (401) allowed per client address per window. */
  perAddress: number;
  /** Failed authentications allowed across all addresses per window (a distributed guess is throttled too). */
  global: number;
  windowMs?: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Throttles guessing of the admin and metrics bearer tokens: every 401 these routes answer counts against the client
 * address and against a global budget; once either is spent, the routes answer 429 with Retry-After until the window
 * ends, without checking the token. Successful requests are never counted. Fixed windows, in memory, per process.
 */
export function authFailureThrottle(options: AuthThrottleOptions): RequestHandler {
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  let windowStart = now();
  let globalFailures = 0;
  const failures = new Map<string, number>();
  let warned = false;

  const roll = () => {
    const t = now();
    if (t - windowStart >= windowMs) {
      windowStart = t;
      globalFailures = 0;
      failures.clear();
      warned = false;
    }
  };

  return (req, res, next) => {
    roll();
    const address = req.socket.remoteAddress ?? 'unknown';
    if ((failures.get(address) ?? 0) >= options.perAddress || globalFailures >= options.global) {
      if (!warned) {
        warned = true;
        options.logger.warn({ perAddress: options.perAddress, global: options.global }, 'admin/metrics authentication throttled');
      }
      const retry = Math.max(1, Math.ceil((windowStart + windowMs - now()) / 1000));
      next(new HttpError(429, 'throttled', 'Too many failed authentication attempts; retry later', undefined, { 'Retry-After': String(retry) }));
      return;
    }
    res.on('finish', () => {
      if (res.statusCode !== 401) return;
      roll();
      globalFailures++;
      // Bounded: a flood from many addresses cannot grow the map past the global budget.
      if (failures.size < options.global || failures.has(address)) failures.set(address, (failures.get(address) ?? 0) + 1);
    });
    next();
  };
}
