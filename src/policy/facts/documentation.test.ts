import { describe, expect, it } from 'vitest';
import { csiiFacts } from './csii.js';
import { HCPCS, ICD10, SNOMED, companion, condition, coverage, ctxFor, device, deviceUse, encounter, medStatement, order, questionnaireResponse, formerFacts } from '../../../test/support/fact-fixtures.js';

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
  it('completed DSMT sessions on 2 days meet (one session is not a program); a not-done one is ignored', () => {
    const proc = (status: string, day = '2025-03-01') => ({ resourceType: 'Procedure', id: `pr-${status}-${day}`, status, code: { coding: [{ system: HCPCS, code: 'G0108' }] }, performedDateTime: day });
    expect(f.procedureCompleted!(ctxFor([proc('completed'), proc('completed', '2025-03-08')]), {}).status).toBe('met');
    expect(f.procedureCompleted!(ctxFor([proc('completed')]), {})).toMatchObject({ status: 'not-documented', finding: { code: 'too-few' } });
    expect(f.procedureCompleted!(ctxFor([proc('completed')], { parameters: { educationSessionsMin: 1 } }), {}).status).toBe('met');
    expect(f.procedureCompleted!(ctxFor([proc('not-done')]), {}).status).toBe('not-documented');
  });

  // Episodes count during insulin therapy (anchor insulin-start): insulin since 2019, the diagnoses dated 2020-01-01.
  const insulin = medStatement('274783', '2019-01-01', undefined);
  it('hypoglycemia coded as E11.649, E16.2 or SNOMED counts, resolved too; refuted does not (minCount 1 here)', () => {
    const vs = { valueSet: 'hypoglycemia-dx', minCount: 1 };
    expect(f.conditionDocumented!(ctxFor([insulin, condition(ICD10, 'E11.649')]), vs).status).toBe('met');
    expect(f.conditionDocumented!(ctxFor([insulin, condition(ICD10, 'E16.2', { clinicalStatus: { coding: [{ code: 'resolved' }] } })]), vs).status).toBe('met');
    expect(f.conditionDocumented!(ctxFor([insulin, condition(SNOMED, '302866003')]), vs).status).toBe('met');
    expect(f.conditionDocumented!(ctxFor([insulin, condition(ICD10, 'E11.65')]), vs).status).toBe('not-documented');
    expect(f.conditionDocumented!(ctxFor([insulin, condition(ICD10, 'E16.2', { verificationStatus: { coding: [{ code: 'refuted' }] } })]), vs).status).toBe('not-documented');
  });

  it('"recurring": the policy needs 2 episodes (hypoglycemiaEpisodesMin); one is not documented, not a "no"', () => {
    expect(f.conditionDocumented!(ctxFor([insulin, condition(ICD10, 'E16.2')]), {}).status).toBe('not-documented');
    expect(f.conditionDocumented!(ctxFor([insulin, condition(ICD10, 'E16.2'), condition(ICD10, 'E11.649')]), {}).status).toBe('met');
  });
  it('an episode before insulin therapy began does not count', () => {
    const late = medStatement('274783', '2021-01-01', undefined);
    expect(f.conditionDocumented!(ctxFor([late, condition(ICD10, 'E16.2'), condition(ICD10, 'E11.649')]), {}).status).toBe('not-documented');
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
    expect(r.reason).toContain('Medicare Part B enrollment date not documented');
  });
});

describe('continuedCoverageVisit', () => {
  // Order date 2026-11-24: 3 calendar months before = 2026-08-24 (inclusive); 91 days = 2026-08-25.
  const REQ = 'PractitionerRole/endo-1';
  const supply = order({ role: 'supply', hcpcs: 'A4224', requester: REQ });
  /** An evaluation visit (SNOMED follow-up encounter) with `who`. */
  const visit = (day: string, who = REQ) =>
    encounter(day, { type: [{ coding: [{ system: SNOMED, code: '390906007' }] }], participant: [{ individual: { reference: who } }] });
  const run = (resources: Parameters<typeof ctxFor>[0], o = supply, parameters?: Record<string, number | string | boolean>) =>
    f.continuedCoverageVisit!(ctxFor(resources, { order: o, ...(parameters ? { parameters } : {}) }), {});

  it('an initial pump order is not subject to the rule', () => {
    const r = run([], order());
    expect(r.status).toBe('met');
    expect(r.finding).toMatchObject({ code: 'not-applicable', values: { definition: 'continued-coverage' } });
  });

  it('supplies: an evaluation visit on or after 2026-08-24 (3 calendar months) meets; 2026-08-23 does not; 91 days as a parameter', () => {
    expect(run([visit('2026-08-24')]).status).toBe('met');
    const r = run([visit('2026-08-23')]);
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('93 days ago');
    expect(r.reason).toContain('2026-08-24');
    expect(run([visit('2026-08-25')], supply, { visitMonthsMax: 0, visitDaysMax: 91 }).status).toBe('met');
    expect(run([visit('2026-08-24')], supply, { visitMonthsMax: 0, visitDaysMax: 91 }).status).toBe('not-met');
  });

  it('a visit that is no evaluation (no E/M type) or with someone else does not count; the CSII team can be configured', () => {
    expect(run([encounter('2026-11-01', { participant: [{ individual: { reference: REQ } }] })]).status).toBe('not-documented');
    const nurse = visit('2026-11-01', 'PractitionerRole/cde-1');
    expect(run([nurse]).status).toBe('not-documented');
    expect(run([nurse], supply, { visitCsiiTeam: 'PractitionerRole/cde-1, PractitionerRole/rd-2' }).status).toBe('met');
  });

  it('pump insulin (J1817) and a patient already on a pump are continued coverage', () => {
    expect(run([visit('2026-05-01')], order({ role: 'drug', hcpcs: 'J1817', requester: REQ })).status).toBe('not-met');
    const pump = device(SNOMED, '69805005');
    const r = run([pump, visit('2026-05-01')], order({ requester: REQ }));
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

  it('visitRequiresTreatingPractitioner: the encounter must name the requester (off: any evaluation visit)', () => {
    const o = order({ role: 'supply', hcpcs: 'A4224', requester: 'Practitioner/dr1' });
    const other = visit('2026-11-01', 'Practitioner/dr2');
    const own = visit('2026-11-02', 'Practitioner/dr1');
    expect(run([other], o).status).toBe('not-documented');
    expect(run([other, own], o).status).toBe('met');
    expect(run([other], o, { visitRequiresTreatingPractitioner: false }).status).toBe('met');
  });
});
