import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../config.js';
import { writePolicyDir } from '../../test/support/policy-dir.js';
import { PatientRecord } from '../fhir/record.js';
import { PolicyLoadError } from './schemas.js';
import { loadValueSets, selectInValueSet, ValueSetStore } from './valuesets.js';

const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';
const HCPCS = 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';

const store = new ValueSetStore([
  { id: 'dm', title: 'Diabetes', include: [{ system: ICD10, codes: ['E10.65'], prefixes: ['E08', 'E11'] }] },
  { id: 'pump', title: 'Pump', include: [{ system: HCPCS, codes: ['E0784'] }, { system: 'http://loinc.org', codes: ['13037-7'] }] },
]);

describe('ValueSetStore', () => {
  it('exact codes, trimmed, with HCPCS system aliases folded', () => {
    expect(store.contains('pump', { system: 'https://bluebutton.cms.gov/resources/codesystem/hcpcs', code: ' E0784 ' })).toBe(true);
    expect(store.contains('pump', { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'e0784' })).toBe(true);
    expect(store.contains('pump', { system: 'https://loinc.org', code: '13037-7' })).toBe(true);
    expect(store.contains('pump', { system: 'http://snomed.info/sct', code: 'E0784' })).toBe(false);
    expect(store.contains('pump', { system: HCPCS, code: 'E0781' })).toBe(false);
  });

  it('prefixes are dot- and case-insensitive; exact codes match without their dot', () => {
    expect(store.contains('dm', { system: ICD10, code: 'E11.9' })).toBe(true);
    expect(store.contains('dm', { system: ICD10, code: 'e1165' })).toBe(true);
    expect(store.contains('dm', { system: ICD10, code: 'E0800' })).toBe(true);
    expect(store.contains('dm', { system: ICD10, code: 'E1065' })).toBe(true);
    expect(store.contains('dm', { system: ICD10, code: 'E10.9' })).toBe(false);
    expect(store.contains('dm', { system: ICD10, code: '' })).toBe(false);
    expect(store.contains('nope', { system: ICD10, code: 'E11.9' })).toBe(false);
  });

  it('codings() lists explicit codes for the record index; selectInValueSet scans prefix sets', () => {
    expect(store.codings('pump')).toEqual([
      { system: HCPCS, code: 'E0784' },
      { system: 'http://loinc.org', code: '13037-7' },
    ]);
    const record = new PatientRecord('p', [
      { resourceType: 'Condition', id: 'a', code: { coding: [{ system: ICD10, code: 'E11.9' }] } },
      { resourceType: 'Condition', id: 'b', code: { coding: [{ system: ICD10, code: 'I10' }] } },
      { resourceType: 'Observation', id: 'o', code: { coding: [{ system: 'http://loinc.org', code: '13037-7' }] } },
    ] as never);
    expect(selectInValueSet(record, 'Condition', store, 'dm').map((r) => r.id)).toEqual(['a']);
    expect(selectInValueSet(record, 'Observation', store, 'pump').map((r) => r.id)).toEqual(['o']);
  });
});

describe('loadValueSets', () => {
  it('loads a directory and rejects a malformed file with its JSON path', () => {
    const ok = writePolicyDir({ 'a.json': { id: 'a', title: 'A', include: [{ system: 'x', codes: ['1'] }] } });
    expect(loadValueSets(ok).has('a')).toBe(true);
    const bad = writePolicyDir({ 'a.json': { id: 'a', title: 'A', include: [{ system: 'x' }] } });
    expect(() => loadValueSets(bad)).toThrow(PolicyLoadError);
    expect(() => loadValueSets(bad)).toThrow(/a\.json: \/include\/0: missing required property "codes"/);
  });
});

// The shipped value sets are clinical data other policy authors build on: load them all and hold them to the
// code-format rules of their systems, so a typo (a LOINC without its check digit, "E079" for a HCPCS code) fails here.
describe('shipped value sets (policies/valuesets)', () => {
  const dir = path.join(projectRoot, 'policies', 'valuesets');
  const shipped = loadValueSets(dir);
  const definitions = shipped.ids().map((id) => shipped.get(id)!);

  /** LOINC mod-10 check digit (https://loinc.org/kb/users-guide/calculating-mod-10-check-digits/). */
  function loincValid(code: string): boolean {
    const m = /^(\d{1,7})-(\d)$/.exec(code);
    if (!m) return false;
    let sum = 0;
    [...m[1]!].reverse().forEach((ch, i) => {
      const d = Number(ch);
      sum += i % 2 === 0 ? Math.floor((d * 2) / 10) + ((d * 2) % 10) : d;
    });
    return (10 - (sum % 10)) % 10 === Number(m[2]);
  }

  const FORMATS: Record<string, RegExp> = {
    [HCPCS]: /^[A-V]\d{4}$/,
    'http://www.ama-assn.org/go/cpt': /^(\d{5}|\d{4}[FTU]|\d{2})$/,
    [ICD10]: /^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$/,
    'http://www.nlm.nih.gov/research/umls/rxnorm': /^\d{1,8}$/,
    'http://snomed.info/sct': /^\d{6,18}$/,
  };

  it('every file loads, names its source, and has no duplicate code within a set', () => {
    expect(definitions.length).toBeGreaterThan(100);
    for (const d of definitions) {
      expect(d.source, d.id).toMatch(/\b(NCD|LCD|MLN|UHC|NW|L35112|UTH|A52507|POLICY-DIGEST|COVERAGE-MAP|[Ii]ssue|LOINC|FHIR)\b/);
      const seen = new Set<string>();
      for (const inc of d.include) {
        for (const code of inc.codes ?? []) {
          const key = `${inc.system}|${code}`;
          expect(seen.has(key), `${d.id}: ${key} twice`).toBe(false);
          seen.add(key);
        }
      }
    }
  });

  it('codes have the shape of their code system (LOINC check digits included)', () => {
    const bad: string[] = [];
    for (const d of definitions) {
      for (const inc of d.include) {
        for (const code of inc.codes ?? []) {
          const ok = inc.system === 'http://loinc.org' ? loincValid(code) : (FORMATS[inc.system]?.test(code) ?? true);
          if (!ok) bad.push(`${d.id}: ${inc.system}|${code}`);
        }
        for (const p of inc.prefixes ?? []) if (inc.system === ICD10 && !/^[A-Z](\d[0-9A-Z.]*)?$/.test(p)) bad.push(`${d.id}: prefix ${p}`);
      }
    }
    expect(bad).toEqual([]);
    expect(loincValid('13037-7')).toBe(true);
    expect(loincValid('13037-8')).toBe(false);
  });

  it('encodes the source rules that tell sets apart', () => {
    const rx = 'http://www.nlm.nih.gov/research/umls/rxnorm';
    // SCIg pump/drug pairing (A52507 table): Hizentra on E0779, HyQvia only on E0781.
    expect(shipped.contains('scig-drugs-for-e0779', { system: HCPCS, code: 'J1559' })).toBe(true);
    expect(shipped.contains('scig-drugs-for-e0779', { system: HCPCS, code: 'J1575' })).toBe(false);
    expect(shipped.contains('scig-drugs-for-e0781', { system: HCPCS, code: 'J1575' })).toBe(true);
    // Situation B: meperidine is excluded; situation A: liposomal doxorubicin is not the listed drug.
    expect(shipped.contains('narcotic-analgesics-situation-b', { system: rx, code: '6754' })).toBe(false);
    expect(shipped.contains('meperidine-drugs', { system: rx, code: '6754' })).toBe(true);
    expect(shipped.contains('anticancer-situation-a-drugs', { system: HCPCS, code: 'J9001' })).toBe(false);
    expect(shipped.contains('liposomal-anticancer-drugs', { system: HCPCS, code: 'J9001' })).toBe(true);
    // Iron poisoning: poisoning codes, not adverse effect / underdosing.
    expect(shipped.contains('iron-poisoning-dx', { system: ICD10, code: 'T45.4X1A' })).toBe(true);
    expect(shipped.contains('iron-poisoning-dx', { system: ICD10, code: 'T45.4X5A' })).toBe(false);
    // PH due to left heart / lung disease is the excluded etiology, not a qualifying one.
    expect(shipped.contains('ph-excluded-etiology-dx', { system: ICD10, code: 'I27.23' })).toBe(true);
    expect(shipped.contains('ph-qualifying-dx', { system: ICD10, code: 'I27.23' })).toBe(false);
    // Heparin flush is not therapeutic heparin; the K0456 typo is read as K0455 for the IV-pole edit.
    expect(shipped.contains('heparin-drugs', { system: HCPCS, code: 'J1642' })).toBe(false);
    expect(shipped.contains('ambulatory-pumps', { system: HCPCS, code: 'K0455' })).toBe(true);
    expect(shipped.contains('ambulatory-pumps', { system: HCPCS, code: 'E0791' })).toBe(false);
    // Surgical-site infection is an active infection; IA-2 and ZnT8 are in the full antibody panel.
    expect(shipped.contains('active-infection-dx', { system: ICD10, code: 'T81.41XA' })).toBe(true);
    expect(shipped.contains('beta-cell-autoantibodies-full', { system: 'http://loinc.org', code: '76651-9' })).toBe(true);
    expect(shipped.contains('beta-cell-autoantibodies-full', { system: 'http://loinc.org', code: '56718-0' })).toBe(true);
  });
});
