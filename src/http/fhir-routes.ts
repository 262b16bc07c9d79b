// The service's own FHIR artefacts: the documentation Questionnaires clinicians complete for what the record cannot
// hold as data. Read-only; served as FHIR JSON.
import express, { type Router } from 'express';
import type { Bundle, Questionnaire } from 'fhir/r4';
import { notFound } from './errors.js';

export function fhirRouter(questionnaires: ReadonlyMap<string, Questionnaire>, baseUrl: (req: express.Request) => string): Router {
  const router = express.Router();
  router.get('/fhir/Questionnaire', (req, res) => {
    const base = baseUrl(req);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: questionnaires.size,
      link: [{ relation: 'self', url: `${base}/fhir/Questionnaire` }],
      entry: [...questionnaires.values()].map((q) => ({
        fullUrl: `${base}/fhir/Questionnaire/${q.id}`,
        resource: q,
        search: { mode: 'match' },
      })),
    };
    res.type('application/fhir+json').json(bundle);
  });
  router.get('/fhir/Questionnaire/:id', (req, res, next) => {
    const q = questionnaires.get(req.params.id);
    if (!q) {
      next(notFound(`Questionnaire/${req.params.id} is not known`));
      return;
    }
    res.type('application/fhir+json').json(q);
  });
  return router;
}
