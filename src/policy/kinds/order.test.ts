import { describe, expect, it } from 'vitest';
import { SNOMED, companion, order, runKind } from '../../../test/support/fact-fixtures.js';

describe('order kind', () => {
  const code = { check: 'pump-code', valueSet: 'csii-pump-code', skipValueSet: 'implantable-pump-codes' };
  it('pump code: the order\'s own pump; a supply is judged on the pumps ordered with it', () => {
    expect(runKind('order', code, []).status).toBe('met');
    expect(runKind('order', code, [], { order: order({ hcpcs: 'E0781' }) })).toMatchObject({ status: 'not-met', finding: { code: 'wrong-code', values: { ordered: 'E0781' } } });
    expect(runKind('order', { ...code, uncoded: 'not-documented' }, [], { order: order({ codings: [{ system: SNOMED, code: '69805005' }] }) }).status).toBe('not-documented');
    expect(runKind('order', code, [], { order: order({ role: 'supply', hcpcs: 'A4224', companions: [companion('pump', 'E0781')] }) }).status).toBe('not-met');
    expect(runKind('order', code, [], { order: order({ role: 'supply', hcpcs: 'A4224' }) }).finding.code).toBe('not-applicable');
  });

  it('forbidden pump, pairing table, companion, has-pump', () => {
    expect(runKind('order', { check: 'forbidden-pump', valueSet: 'implantable-pump-codes' }, [], { order: order({ hcpcs: 'E0783', pumpKind: 'implantable' }) }).status).toBe('not-met');
    const table = { check: 'pairing', table: [{ supplies: 'csii-supplies', onlyWith: 'csii-pump-code' }, { supplies: 'non-insulin-pump-supplies', neverWith: 'csii-pump-code' }] };
    expect(runKind('order', table, [], { order: order({ companions: [companion('supply', 'A4224')] }) }).status).toBe('met');
    expect(runKind('order', table, [], { order: order({ companions: [companion('supply', 'K0552')] }) })).toMatchObject({ status: 'not-met', finding: { code: 'unpaired' } });
    expect(runKind('order', { check: 'companion', valueSet: 'insulin-drugs' }, [], { order: order({ companions: [companion('drug', 'J1817')] }) }).status).toBe('met');
    expect(runKind('order', { check: 'companion', valueSet: 'insulin-drugs' }, []).finding.code).toBe('missing-companion');
    expect(runKind('order', { check: 'has-pump' }, [], { order: order({ role: 'supply', hcpcs: 'A4224' }) }).status).toBe('not-met');
  });

  it('fields today\'s order model lacks are unknown, never a guess', () => {
    expect(runKind('order', { check: 'setting', allowed: ['home'] }, []).status).toBe('not-documented');
    // The order model always says which pumps are on record ([] = none); an order without the field is unknown.
    const withoutRecordPumps = { ...order(), pumpsOnRecord: undefined };
    expect(runKind('order', { check: 'pump-count', max: 1, includeOnRecord: true }, [], { order: withoutRecordPumps as never })).toMatchObject({ status: 'not-documented', finding: { code: 'unknown' } });
    expect(runKind('order', { check: 'pump-count', max: 1, includeOnRecord: true }, []).status).toBe('met');
    const withFields = { ...order(), setting: { value: 'institutional', source: 'encounter' }, pumpsOnRecord: [{ ref: 'Device/d1', hcpcs: 'E0784' }] };
    expect(runKind('order', { check: 'setting', allowed: ['home'] }, [], { order: withFields as never }).status).toBe('not-met');
    expect(runKind('order', { check: 'pump-count', max: 1, includeOnRecord: true }, [], { order: withFields as never }).status).toBe('not-met');
    const drug = { ...order(), drug: { status: 'not-identified', ingredients: [], hcpcs: [] } };
    expect(runKind('order', { check: 'drug', valueSet: 'insulin-drugs' }, [], { order: drug as never }).finding.code).toBe('drug-not-identified');
  });

  it('pump code not addressed by the policy documents: not documented, never a wrong code to recode', () => {
    const p = { ...code, notAddressedValueSet: 'csii-pump-codes-not-addressed' };
    expect(runKind('order', p, [], { order: order({ hcpcs: 'E0787' }) })).toMatchObject({ status: 'not-documented', finding: { code: 'not-addressed', values: { ordered: 'E0787' } } });
    expect(runKind('order', p, [], { order: order({ hcpcs: 'E0781' }) }).finding.code).toBe('wrong-code');
  });

  it('pairing with includeOnRecord: a refill is judged against the pumps on record', () => {
    const table = { check: 'pairing', includeOnRecord: true, table: [{ supplies: 'csii-supplies', onlyWith: 'csii-pump-code' }] };
    const refill = (hcpcs: string) => ({ ...order({ role: 'supply', hcpcs: 'A4224' }), pumpsOnRecord: [{ ref: 'Device/d1', hcpcs, codings: [] }] });
    expect(runKind('order', table, [], { order: refill('E0781') as never })).toMatchObject({ status: 'not-met', finding: { code: 'unpaired' } });
    expect(runKind('order', table, [], { order: refill('E0784') as never }).status).toBe('met');
    expect(runKind('order', { ...table, includeOnRecord: false }, [], { order: refill('E0781') as never }).status).toBe('met');
  });
});

describe('order kind: the order\'s own code, and other orders of its set', () => {
  const CPT = 'http://www.ama-assn.org/go/cpt';
  const refill = (setOrders: unknown[]) => ({ ...order({ role: 'procedure', codings: [{ system: CPT, code: '95990' }] }), ref: 'ServiceRequest/r1', setOrders });
  const self = { ref: 'ServiceRequest/r1', type: 'ServiceRequest', codings: [{ system: CPT, code: '95990' }], details: [] };
  const em = (details: unknown[]) => ({ ref: 'ServiceRequest/em', type: 'ServiceRequest', codings: [{ system: CPT, code: '99213' }], details });

  it('code: met when the order itself is in the value set', () => {
    expect(runKind('order', { check: 'code', valueSet: 'pump-refill-codes' }, [], { order: refill([self]) as never }).status).toBe('met');
    expect(runKind('order', { check: 'code', valueSet: 'pump-refill-physician-skill' }, [], { order: refill([self]) as never })).toMatchObject({ status: 'not-met', finding: { code: 'other-code' } });
  });

  it('in-set: a sibling (recognised or not) with or without the required detail', () => {
    const p = { check: 'in-set', valueSet: 'em-office-outpatient', detailValueSet: 'cpt-modifier-25' };
    expect(runKind('order', p, [], { order: refill([self]) as never })).toMatchObject({ empty: true, finding: { code: 'not-in-set' } });
    expect(runKind('order', p, [], { order: refill([self, em([{ system: CPT, code: '25' }])]) as never }).status).toBe('met');
    expect(runKind('order', p, [], { order: refill([self, em([])]) as never })).toMatchObject({ status: 'not-met', finding: { code: 'missing-detail' } });
    expect(runKind('order', { ...p, missingDetail: 'not-documented' }, [], { order: refill([self, em([])]) as never }).status).toBe('not-documented');
    expect(runKind('order', { check: 'in-set', valueSet: 'em-office-outpatient' }, [], { order: refill([self, em([])]) as never }).status).toBe('met');
    expect(runKind('order', p, [], { order: { ...refill([]), setOrders: undefined } as never })).toMatchObject({ status: 'not-documented', finding: { code: 'unknown' } });
  });
});

describe('order kind: a forbidden drug', () => {
  it('the drug in the list ⇒ not met; another drug ⇒ met; none identified ⇒ empty', () => {
    const withDrug = (ingredients: string[]) => ({ ...order({ hcpcs: 'E0783', pumpKind: 'implantable' }), drug: { status: 'identified', ingredients, names: [], hcpcs: [] } });
    const p = { check: 'drug', valueSet: 'heparin-drugs', forbidden: true };
    expect(runKind('order', p, [], { order: withDrug(['5224']) as never })).toMatchObject({ status: 'not-met', finding: { code: 'forbidden-drug' } });
    expect(runKind('order', p, [], { order: withDrug(['1292']) as never }).status).toBe('met');
    expect(runKind('order', p, []).finding.code).toBe('drug-not-identified');
  });
});
