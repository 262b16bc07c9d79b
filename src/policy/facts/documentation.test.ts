import { describe, expect, it } from 'vitest';
import { csiiFacts } from './csii.js';
import { HCPCS, ICD10, SNOMED, companion, condition, coverage, ctxFor, device, deviceUse, encounter, order, questionnaireResponse, formerFacts } from '../../../test/support/fact-fixtures.js';

const f = { ...csiiFacts, ...formerFacts };

describe('documentationAttested', () => {
  const params = { questionnaire: 'csii-documentation', linkId: 'education-completed', dateLinkId: 'education-date' };
  const run = (resources: Parameters<typeof ctxFor>[0]) => f.documentationAttested!(ctxFor(resources), params);

  it('true ⇒ met, with the response as evidence', () => {
    const qr = questionnaireResponse({ 'education-completed': true, 'education-date': '2025-04-02' });
    const r = run([qr]);
    expect(r.status).toBe('met');
    expect(r.evidence[0]).toMatchObject({ reference: `QuestionnaireResponse/${qr.id}`, value: 'education-completed: yes', note: 'date given: 2025-04-02' });
  });

  it('false ⇒ not met; absent ⇒ not documented', () => {
    expect(run([questionnaireResponse({ 'education-completed': false })]).status).toBe('not-met');
    expect(run([questionnaireResponse({ 'mdi-self-adjustment': true })]).status).toBe('not-documented');
    expect(run([]).status).toBe('not-documented');
  });

  it('the newest completed response that answers the item wins; in-progress responses are ignored', () => {
    const old = questionnaireResponse({ 'education-completed': false }, { authored: '2026-01-01T00:00:00Z' });
    const newer = questionnaireResponse({ 'education-completed': true }, { authored: '2026-11-01T00:00:00Z' });
    const draft = questionnaireResponse({ 'education-completed': false }, { authored: '2026-11-10T00:00:00Z', status: 'in-progress' });
    const partial = questionnaireResponse({ 'practitioner-csii-team': true }, { authored: '2026-11-15T00:00:00Z' });
    expect(run([old, newer, draft, partial]).status).toBe('met');
  });

  it('matches the questionnaire by canonical ending, bare id, or with a version; not another questionnaire', () => {
    const variants = ['https://ehr.example/fhir/Questionnaire/csii-documentation|1.0.0', 'csii-documentation'];
    for (const questionnaire of variants) expect(run([questionnaireResponse({ 'education-completed': true }, { questionnaire })]).status).toBe('met');
    expect(run([questionnaireResponse({ 'education-completed': true }, { questionnaire: 'http://x/Questionnaire/other' })]).status).toBe('not-documented');
  });

  it('a response authored after the order date is not used', () => {
    expect(run([questionnaireResponse({ 'education-completed': true }, { authored: '2026-12-01T00:00:00Z' })]).status).toBe('not-documented');
  });
});

describe('procedureCompleted / conditionDocumented (structured evidence)', () => {
  it('a completed DSMT procedure (G0108) meets; a not-done one is ignored', () => {
    const proc = (status: string) => ({ resourceType: 'Procedure', id: `pr-${status}`, status, code: { coding: [{ system: HCPCS, code: 'G0108' }] }, performedDateTime: '2025-03-01' });
    expect(f.procedureCompleted!(ctxFor([proc('completed')]), { valueSet: 'dsmt-procedures' }).status).toBe('met');
    expect(f.procedureCompleted!(ctxFor([proc('not-done')]), { valueSet: 'dsmt-procedures' }).status).toBe('not-documented');
  });

  it('hypoglycemia coded as E11.649, E16.2 or SNOMED counts, resolved too; refuted does not', () => {
    const vs = { valueSet: 'hypoglycemia-dx', minCount: '%hypoglycemiaConditionsMin' };
    expect(f.conditionDocumented!(ctxFor([condition(ICD10, 'E11.649')]), vs).status).toBe('met');
    expect(f.conditionDocumented!(ctxFor([condition(ICD10, 'E16.2', { clinicalStatus: { coding: [{ code: 'resolved' }] } })]), vs).status).toBe('met');
    expect(f.conditionDocumented!(ctxFor([condition(SNOMED, '302866003')]), vs).status).toBe('met');
    expect(f.conditionDocumented!(ctxFor([condition(ICD10, 'E11.65')]), vs).status).toBe('not-documented');
    expect(f.conditionDocumented!(ctxFor([condition(ICD10, 'E16.2', { verificationStatus: { coding: [{ code: 'refuted' }] } })]), vs).status).toBe('not-documented');
    expect(f.conditionDocumented!(ctxFor([condition(ICD10, 'E16.2')], { parameters: { hypoglycemiaConditionsMin: 2 } }), vs).status).toBe('not-documented');
  });
});

describe('insulinPumpBeforeMedicare', () => {
  const run = (resources: Parameters<typeof ctxFor>[0], o = order()) => f.insulinPumpBeforeMedicare!(ctxFor(resources, { order: o }), {});
  const pump = device(SNOMED, '69805005');

  it('pump use starting before the Coverage start meets', () => {
    const r = run([coverage('2020-03-01'), pump, deviceUse(pump, '2018-05-01')]);
    expect(r.status).toBe('met');
    expect(r.evidence[0]).toMatchObject({ date: '2018-05-01' });
    expect(r.finding?.window).toMatchObject({ anchor: 'medicare-enrollment', to: '2020-02-29' });
  });

  it('an insulin pump insertion procedure before enrollment meets', () => {
    const proc = { resourceType: 'Procedure', id: 'ins1', status: 'completed', code: { coding: [{ system: SNOMED, code: '443263006' }] }, performedDateTime: '2019-02-01' };
    expect(run([coverage('2020-03-01'), proc]).status).toBe('met');
  });

  it('pump started after enrollment, or an undated pump ⇒ not documented (the attestation decides)', () => {
    expect(run([coverage('2020-03-01'), pump, deviceUse(pump, '2021-05-01')]).status).toBe('not-documented');
    expect(run([coverage('2020-03-01'), pump]).status).toBe('not-documented');
  });

  it('no Coverage ⇒ not documented', () => {
    const r = run([pump, deviceUse(pump, '2018-05-01')]);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('Medicare enrollment date not documented');
  });
});

describe('continuedCoverageVisit', () => {
  // Order date 2026-11-24: 90 days before = 2026-08-26, 91 = 2026-08-25, 92 = 2026-08-24.
  const supply = order({ role: 'supply', hcpcs: 'A4224' });
  const run = (resources: Parameters<typeof ctxFor>[0], o = supply, parameters?: Record<string, number | string | boolean>) =>
    f.continuedCoverageVisit!(ctxFor(resources, { order: o, ...(parameters ? { parameters } : {}) }), {});

  it('an initial pump order is not subject to the rule', () => {
    const r = run([], order());
    expect(r.status).toBe('met');
    expect(r.finding).toMatchObject({ code: 'not-applicable', values: { definition: 'continued-coverage' } });
  });

  it('supplies: a visit 90 or 91 days ago meets; 92 days does not', () => {
    expect(run([encounter('2026-08-26')]).status).toBe('met');
    expect(run([encounter('2026-08-25')]).status).toBe('met');
    const r = run([encounter('2026-08-24')]);
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('92 days ago');
  });

  it('pump insulin (J1817) and a patient already on a pump are continued coverage', () => {
    expect(run([encounter('2026-05-01')], order({ role: 'drug', hcpcs: 'J1817' })).status).toBe('not-met');
    const pump = device(SNOMED, '69805005');
    const r = run([pump, encounter('2026-05-01')], order());
    expect(r.status).toBe('not-met');
    expect(r.evidence[1]!.note).toContain('already on an insulin pump');
  });

  it('supplies ordered together with a new pump belong to the initial order', () => {
    const r = run([], order({ role: 'supply', hcpcs: 'A4224', companions: [companion('pump', 'E0784')] }));
    expect(r.status).toBe('met');
    expect(r.finding).toMatchObject({ code: 'not-applicable', values: { definition: 'continued-coverage' } });
  });

  it('no finished encounter ⇒ not documented; planned or cancelled ones do not count', () => {
    expect(run([]).status).toBe('not-documented');
    expect(run([encounter('2026-11-01', { status: 'cancelled' })]).status).toBe('not-documented');
  });

  it('visitRequiresOrderingPractitioner: the encounter must name the requester', () => {
    const o = order({ role: 'supply', hcpcs: 'A4224', requester: 'Practitioner/dr1' });
    const other = encounter('2026-11-01', { participant: [{ individual: { reference: 'Practitioner/dr2' } }] });
    const own = encounter('2026-11-02', { participant: [{ individual: { reference: 'Practitioner/dr1' } }] });
    expect(run([other], o, { visitRequiresOrderingPractitioner: true }).status).toBe('not-documented');
    expect(run([other, own], o, { visitRequiresOrderingPractitioner: true }).status).toBe('met');
  });
});
