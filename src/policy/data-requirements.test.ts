// PolicySet.dataRequirements: what the loaded criteria read, derived from each kind's / fact's declaration and the
// anchors (interfaces.md; h8data turns it into prefetch templates and fallback queries).
import { describe, expect, it } from 'vitest';
import { CSII, POLICY_SET } from '../../test/support/fact-fixtures.js';

describe('data requirements derived from the loaded kinds', () => {
  const reqs = POLICY_SET.dataRequirements;
  const of = (type: string) => reqs.filter((r) => r.type === type);

  it('covers every resource type the CSII criteria read, including what the old fixed prefetch missed', () => {
    const types = new Set(reqs.map((r) => r.type));
    for (const t of ['Condition', 'Observation', 'MedicationStatement', 'MedicationRequest', 'Procedure', 'Encounter', 'QuestionnaireResponse', 'Device', 'DeviceUseStatement', 'DeviceRequest', 'Coverage', 'Specimen', 'Patient']) {
      expect(types, t).toContain(t);
    }
  });

  it('names the value sets, includes and the criteria that need them', () => {
    const obs = of('Observation').find((r) => r.valueSets)!;
    expect(obs.valueSets).toEqual(expect.arrayContaining(['c-peptide-fasting', 'c-peptide-untimed', 'fasting-glucose', 'gad65-antibodies', 'ia2-antibodies', 'znt8-antibodies', 'smbg-glucose', 'hba1c']));
    expect(obs.include).toContain('Observation:specimen');
    expect(obs.purpose).toEqual(expect.arrayContaining(['medicare-csii#c-peptide (fact fastingCPeptideInsulinopenia)', 'medicare-csii#antibody-ia2 (observation)']));
    expect(of('MedicationRequest').some((r) => r.include?.includes('MedicationRequest:medication'))).toBe(true);
    // The pump start recorded only as DeviceUseStatement.timingPeriod.start: read for the pump-initiation anchor.
    const dus = of('DeviceUseStatement')[0]!;
    expect(dus.include).toContain('DeviceUseStatement:device');
    expect(dus.purpose).toContain('medicare-csii@pump-initiation (anchor)');
  });

  it('one entry per type and search parameter; every policy contributes', () => {
    const keys = reqs.map((r) => `${r.type}|${r.codeParam ?? ''}|${r.valueSets ? 'coded' : 'all'}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(CSII.dataRequirements.length).toBeGreaterThan(0);
  });
});
