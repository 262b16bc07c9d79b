// The service's own FHIR artefacts: the documentation Questionnaires clinicians complete for what the record cannot
// hold as data, and a CapabilityStatement saying what is served. Read-only FHIR R4 JSON.
//
// Each Questionnaire has one canonical `url` (policies/questionnaires/*.json). That url is what coverage-information
// names (`questionnaire`) and what a completed QuestionnaireResponse's `questionnaire` must carry; a FHIR client
// resolves it with `GET /fhir/Questionnaire?url=<canonical>` (optionally `|version`). A browser that navigates to
// `/fhir/Questionnaire/{id}` (Accept: text/html, no FHIR type) is sent to the fillable form instead of raw JSON.
import express, { type Request, type Router } from 'express';
import type { Bundle, CapabilityStatement, Questionnaire } from 'fhir/r4';
import { badRequest, notFound } from './errors.js';

const FHIR_JSON = 'application/fhir+json';
/** Search parameters understood on Questionnaire; `_format` / `_count` are accepted and ignored (one small set). */
const SEARCH_PARAMS = ['url', '_id', 'name', 'status', 'version'] as const;
const IGNORED_PARAMS = new Set(['_format', '_count', '_summary', '_pretty']);

export interface FhirRouterOptions {
  /** Software version for the CapabilityStatement. */
  version?: string;
  /** Where a browser is sent for a questionnaire (the form page); none = always JSON. */
  formPath?: (id: string) => string;
}

/** Index of questionnaires by canonical url; throws at start-up when two share a url or one has none. */
export function canonicalIndex(questionnaires: ReadonlyMap<string, Questionnaire>): Map<string, Questionnaire> {
  const byUrl = new Map<string, Questionnaire>();
  for (const q of questionnaires.values()) {
    if (!q.url) throw new Error(`Questionnaire/${q.id} has no canonical url`);
    const other = byUrl.get(q.url);
    if (other) throw new Error(`Questionnaire/${q.id} and Questionnaire/${other.id} share the canonical url ${q.url}`);
    byUrl.set(q.url, q);
  }
  return byUrl;
}

/** The canonical url of a questionnaire by id (what coverage-information and QuestionnaireResponses carry). */
export function canonicalOf(questionnaires: ReadonlyMap<string, Questionnaire>, id: string): string | undefined {
  return questionnaires.get(id)?.url;
}

function wantsHtml(req: Request): boolean {
  const accept = req.get('accept') ?? '';
  if (typeof req.query._format === 'string') return false;
  return /text\/html/i.test(accept) && !/application\/(fhir\+)?json/i.test(accept);
}

function single(req: Request, name: string): string | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw badRequest(`search parameter ${name} must be given once`, [name]);
  return raw;
}

function matches(q: Questionnaire, params: Partial<Record<(typeof SEARCH_PARAMS)[number], string>>): boolean {
  if (params.url !== undefined) {
    const [url, version] = params.url.split('|');
    if (q.url !== url) return false;
    if (version && q.version !== version) return false;
  }
  if (params._id !== undefined && !params._id.split(',').includes(q.id ?? '')) return false;
  // FHIR string search: case-insensitive "starts with".
  if (params.name !== undefined && !(q.name ?? '').toLowerCase().startsWith(params.name.toLowerCase())) return false;
  if (params.status !== undefined && !params.status.split(',').includes(q.status)) return false;
  if (params.version !== undefined && q.version !== params.version) return false;
  return true;
}

export function capabilityStatement(base: string, version: string, date: string): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'pumpcheck',
    kind: 'instance',
    software: { name: 'pumpcheck', version },
    implementation: { description: 'pumpcheck documentation questionnaires', url: `${base}/fhir` },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation: 'Read-only. The documentation Questionnaires that pumpcheck cards and coverage-information refer to.',
        resource: [
          {
            type: 'Questionnaire',
            interaction: [{ code: 'read' }, { code: 'search-type' }],
            searchParam: [
              { name: 'url', type: 'uri', documentation: 'Canonical url, optionally with |version' },
              { name: '_id', type: 'token' },
              { name: 'name', type: 'string' },
              { name: 'status', type: 'token' },
              { name: 'version', type: 'token' },
            ],
          },
        ],
      },
    ],
  };
}

export function fhirRouter(
  questionnaires: ReadonlyMap<string, Questionnaire>,
  baseUrl: (req: express.Request) => string,
  options: FhirRouterOptions = {},
): Router {
  canonicalIndex(questionnaires);
  const startedOn = new Date().toISOString();
  const router = express.Router();

  router.get('/fhir/metadata', (req, res) => {
    res.type(FHIR_JSON).json(capabilityStatement(baseUrl(req), options.version ?? '0.0.0', startedOn));
  });

  router.get('/fhir/Questionnaire', (req, res, next) => {
    try {
      const params: Partial<Record<(typeof SEARCH_PARAMS)[number], string>> = {};
      for (const name of Object.keys(req.query)) {
        if (IGNORED_PARAMS.has(name)) continue;
        if (!(SEARCH_PARAMS as readonly string[]).includes(name)) {
          throw badRequest(`unsupported search parameter "${name}" (supported: ${SEARCH_PARAMS.join(', ')})`, [name]);
        }
        params[name as (typeof SEARCH_PARAMS)[number]] = single(req, name);
      }
      const base = baseUrl(req);
      const hits = [...questionnaires.values()].filter((q) => matches(q, params));
      const self = new URL(`${base}/fhir/Questionnaire`);
      for (const [k, v] of Object.entries(params)) if (v !== undefined) self.searchParams.set(k, v);
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        total: hits.length,
        link: [{ relation: 'self', url: self.toString() }],
        entry: hits.map((q) => ({ fullUrl: `${base}/fhir/Questionnaire/${q.id}`, resource: q, search: { mode: 'match' } })),
      };
      res.type(FHIR_JSON).json(bundle);
    } catch (err) {
      next(err);
    }
  });

  router.get('/fhir/Questionnaire/:id', (req, res, next) => {
    const q = questionnaires.get(req.params.id);
    if (!q) {
      next(notFound(`Questionnaire/${req.params.id} is not known`));
      return;
    }
    res.setHeader('Vary', 'Accept');
    if (options.formPath && wantsHtml(req)) {
      res.redirect(303, options.formPath(q.id!));
      return;
    }
    res.type(FHIR_JSON).json(q);
  });
  return router;
}
