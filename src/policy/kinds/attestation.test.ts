import { describe, expect, it } from 'vitest';
import { questionnaireResponse, runKind } from '../../../test/support/fact-fixtures.js';

describe('attestation kind', () => {
  it('yes ⇒ met, no ⇒ not met, unanswered ⇒ empty; the date answered alongside is kept', () => {
    const p = { linkId: 'education-completed', dateLinkId: 'education-date' };
    expect(runKind('attestation', p, [questionnaireResponse({ 'education-completed': true, 'education-date': '2025-05-01' })])).toMatchObject({ status: 'met', finding: { code: 'yes', values: { date: '2025-05-01' } } });
    expect(runKind('attestation', p, [questionnaireResponse({ 'education-completed': false })]).status).toBe('not-met');
    expect(runKind('attestation', p, [questionnaireResponse({ 'smbg-4-per-day': true })])).toMatchObject({ empty: true, finding: { code: 'none' } });
  });
});

describe('attestation kind: choice and numeric items, soft "no"', () => {
  const qr = (answer: Record<string, unknown>) => ({
    resourceType: 'QuestionnaireResponse',
    id: `qr-${JSON.stringify(answer).length}`,
    status: 'completed',
    questionnaire: 'http://pumpcheck.example.org/fhir/Questionnaire/csii-documentation',
    subject: { reference: 'Patient/p1' },
    authored: '2026-11-20T10:00:00Z',
    item: [{ linkId: 'group', item: [{ linkId: 'item-1', answer: [answer] }] }],
  });
  const choice = { linkId: 'item-1', answers: { met: ['favourable'], notMet: ['not-favourable'] } };

  it('a choice meets, contradicts, or (any other answer) leaves the criterion not documented', () => {
    expect(runKind('attestation', choice, [qr({ valueCoding: { code: 'favourable' } })]).status).toBe('met');
    expect(runKind('attestation', choice, [qr({ valueCoding: { code: 'not-favourable' } })])).toMatchObject({ status: 'not-met', finding: { code: 'no', values: { answer: 'not-favourable' } } });
    expect(runKind('attestation', choice, [qr({ valueCoding: { code: 'not-done' } })])).toMatchObject({ status: 'not-documented', finding: { code: 'other-answer' } });
    expect(runKind('attestation', choice, [qr({ valueString: 'favourable' })]).status).toBe('met');
    expect(runKind('attestation', choice, []).empty).toBe(true);
  });

  it('a number is compared with min, at and around it; a non-number is not documented', () => {
    const p = { linkId: 'item-1', min: 3 };
    expect(runKind('attestation', p, [qr({ valueInteger: 3 })]).status).toBe('met');
    expect(runKind('attestation', p, [qr({ valueDecimal: 2.9 })])).toMatchObject({ status: 'not-met', finding: { values: { answer: 2.9, min: 3 } } });
    expect(runKind('attestation', p, [qr({ valueInteger: 4 })]).status).toBe('met');
    expect(runKind('attestation', p, [qr({ valueCoding: { code: 'x' } })]).status).toBe('not-documented');
  });

  it('no: "not-documented" makes an explicit "no" a documentation gap, never a denial', () => {
    expect(runKind('attestation', { linkId: 'education-completed', no: 'not-documented' }, [questionnaireResponse({ 'education-completed': false })])).toMatchObject({ status: 'not-documented', finding: { code: 'no-soft' } });
    expect(runKind('attestation', { ...choice, no: 'not-documented' }, [qr({ valueCoding: { code: 'not-favourable' } })]).status).toBe('not-documented');
  });
});

describe('attestation kind: a yes/no item whose "yes" contradicts', () => {
  it('answers on a boolean item read "yes" / "no"', () => {
    const p = { linkId: 'education-completed', answers: { met: ['no'], notMet: ['yes'] } };
    expect(runKind('attestation', p, [questionnaireResponse({ 'education-completed': true })]).status).toBe('not-met');
    expect(runKind('attestation', p, [questionnaireResponse({ 'education-completed': false })]).status).toBe('met');
  });
});
