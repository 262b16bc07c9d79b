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
