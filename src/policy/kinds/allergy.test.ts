import { describe, expect, it } from 'vitest';
import { RXNORM, order, runKind } from '../../../test/support/fact-fixtures.js';

const allergy = (status?: string) => ({ resourceType: 'AllergyIntolerance', id: `a-${status}`, code: { coding: [{ system: RXNORM, code: '86009' }] }, ...(status ? { clinicalStatus: { coding: [{ code: status }] } } : {}) });

describe('allergy kind', () => {
  it('an active allergy is found; with expect none it is not met; inactive ones are ignored unless asked', () => {
    expect(runKind('allergy', { valueSet: 'insulin-drugs' }, [allergy('active')]).status).toBe('met');
    expect(runKind('allergy', { valueSet: 'insulin-drugs', expect: 'none' }, [allergy()]).status).toBe('not-met');
    expect(runKind('allergy', { valueSet: 'insulin-drugs', expect: 'none' }, [allergy('resolved')]).empty).toBe(true);
    expect(runKind('allergy', { valueSet: 'insulin-drugs', includeInactive: true }, [allergy('resolved')]).status).toBe('met');
  });
});

describe('allergy kind: the order\'s own drug', () => {
  const baclofenOrder = () => ({ ...order({ hcpcs: 'E0783', pumpKind: 'implantable' }), drug: { status: 'identified' as const, ingredients: ['1292'], names: ['baclofen'], hcpcs: ['J0475'], display: 'baclofen' } });
  const coded = { resourceType: 'AllergyIntolerance', id: 'a-coded', clinicalStatus: { coding: [{ code: 'active' }] }, code: { coding: [{ system: RXNORM, code: '1292', display: 'Baclofen' }] } };
  const named = { resourceType: 'AllergyIntolerance', id: 'a-named', code: { text: 'Oral baclofen (hives)' } };
  const other = { resourceType: 'AllergyIntolerance', id: 'a-other', code: { text: 'Penicillin' } };
  const refuted = { ...coded, id: 'a-refuted', verificationStatus: { coding: [{ code: 'refuted' }] } };

  it('an allergy coded with the drug\'s ingredient, or naming it, contraindicates; others and refuted ones do not', () => {
    const p = { orderDrug: true, expect: 'none' };
    expect(runKind('allergy', p, [coded], { order: baclofenOrder() as never })).toMatchObject({ status: 'not-met', finding: { code: 'present' } });
    expect(runKind('allergy', p, [named], { order: baclofenOrder() as never }).status).toBe('not-met');
    expect(runKind('allergy', p, [other, refuted], { order: baclofenOrder() as never }).empty).toBe(true);
  });

  it('no identified drug: empty, with its own finding', () => {
    expect(runKind('allergy', { orderDrug: true, expect: 'none' }, [coded])).toMatchObject({ empty: true, finding: { code: 'drug-unknown' } });
  });
});
