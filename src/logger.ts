// Structured JSON logs. Never pass resources, names, birth dates or tokens to the logger: ids, timings, outcomes only.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  return pino({
    level,
    base: { service: 'pumpcheck' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Defence in depth: if a careless call ever passes these keys, they are not written.
    redact: {
      paths: [
        'req.headers.authorization',
        'authorization',
        'access_token',
        'fhirAuthorization',
        'prefetch',
        'resource',
        'body',
        '*.access_token',
      ],
      censor: '[redacted]',
    },
    ...options,
  });
}

/** A logger that writes nothing, for tests that do not assert on logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
