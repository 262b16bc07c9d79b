// The documentation form app, served by the service itself: a SMART on FHIR app (fhirclient, EHR launch) that renders
// each published Questionnaire and writes a completed QuestionnaireResponse to the EHR's FHIR server. Generic: every
// questionnaire in policies/questionnaires/ gets a form; items pre-fill from coded data through the
// prefill-from-record extension (render.ts), whose value sets are resolved here against the policy value sets.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Response, type Router } from 'express';
import type { Questionnaire, QuestionnaireItem } from 'fhir/r4';
import { notFound } from '../http/errors.js';
import type { ValueSetStore } from '../policy/valuesets.js';
import { formCsp, renderAppPage, renderFormPage, renderLaunchPage } from './page.js';
import { prefillOf, type PrefillRule } from './render.js';

export interface FormsRouterDeps {
  questionnaires: ReadonlyMap<string, Questionnaire>;
  valueSets: Pick<ValueSetStore, 'get' | 'title'>;
  /** SMART client id the EHR registered for the form app. */
  clientId?: string;
}

export const FORM_SCOPE = 'launch openid fhirUser patient/Patient.read patient/*.read patient/QuestionnaireResponse.write';

/** Prefill rules of a questionnaire; throws at start-up when an item names an unknown value set. */
export function prefillRules(q: Questionnaire, valueSets: FormsRouterDeps['valueSets']): PrefillRule[] {
  const out: PrefillRule[] = [];
  const walk = (items: QuestionnaireItem[] | undefined) => {
    for (const item of items ?? []) {
      const p = prefillOf(item);
      if (p) {
        const def = valueSets.get(p.valueSet);
        if (!def) throw new Error(`Questionnaire/${q.id} item ${item.linkId}: unknown value set "${p.valueSet}"`);
        out.push({
          linkId: item.linkId,
          resourceType: p.resourceType,
          valueSetTitle: valueSets.title(p.valueSet),
          include: def.include.map((i) => ({ system: i.system, ...(i.codes ? { codes: [...i.codes] } : {}), ...(i.prefixes ? { prefixes: [...i.prefixes] } : {}) })),
        });
      }
      walk(item.item);
    }
  };
  walk(q.item);
  return out;
}

function fhirClientBundle(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('fhirclient/package.json')), 'build', 'fhir-client.min.js');
}

function sendPage(res: Response, nonce: string, html: string): void {
  res.setHeader('Content-Security-Policy', formCsp(nonce));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.type('html').send(html);
}

export function formsRouter(deps: FormsRouterDeps): Router {
  const router = express.Router();
  const rules = new Map([...deps.questionnaires.values()].map((q) => [q.id!, prefillRules(q, deps.valueSets)]));
  const app = { clientId: deps.clientId ?? 'pumpcheck-forms', scope: FORM_SCOPE };
  const bundle = fhirClientBundle();
  const nonce = () => randomBytes(16).toString('base64');

  router.get('/forms/assets/fhir-client.js', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('application/javascript').sendFile(bundle);
  });
  router.get('/forms/launch', (_req, res) => {
    const n = nonce();
    sendPage(res, n, renderLaunchPage(n, app));
  });
  router.get('/forms/app', (_req, res) => {
    const n = nonce();
    sendPage(res, n, renderAppPage(n));
  });
  router.get('/forms/:id', (req, res, next) => {
    const q = deps.questionnaires.get(req.params.id);
    if (!q) {
      next(notFound(`No documentation form ${req.params.id}`));
      return;
    }
    const n = nonce();
    sendPage(res, n, renderFormPage({ nonce: n, questionnaire: q, prefill: rules.get(q.id!) ?? [] }));
  });
  return router;
}
