import type { DeviceRequest, Extension } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { assertOnlyCoverageInfoAdded, checkCoverageInformation } from './checks.js';
import {
  COVERAGE_INFORMATION_URL,
  CRD_TEMP_SYSTEM,
  buildCoverageInformation,
  coverageSystemAction,
  withCoverageInformation,
  type CoverageInfoOptions,
} from './coverage-information.js';
import { csiiTree, deepFreeze, determination, pumpOrder, pumpResource } from '../test/support/card-fixtures.js';

const base: CoverageInfoOptions = {
  hook: 'order-sign',
  crdVersion: '2.0.1',
  assertNoAuth: true,
  questionnaireUrl: (id) => `https://pumpcheck.example.org/fhir/Questionnaire/${id}`,
  today: '2026-04-01',
  assertionId: 'pc-assert-1',
};

/** Sub-extensions as [url, value] pairs, in order. */
function pairs(ext: Extension | undefined): [string, unknown][] {
  return (ext?.extension ?? []).map((e) => {
    const key = Object.keys(e).find((k) => k.startsWith('value'));
    return [e.url, key ? (e as unknown as Record<string, unknown>)[key] : e.extension];
  });
}

const cov: [string, unknown] = ['coverage', { reference: 'Coverage/cov-1' }];
const billing: [string, unknown] = [
  'billingCode',
  { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'E0784', display: 'External ambulatory infusion pump, insulin' },
];
const tail: [string, unknown][] = [
  ['date', '2026-04-01'],
  ['coverage-assertion-id', 'pc-assert-1'],
];

describe('buildCoverageInformation — mapping', () => {
  it('all met → covered + no-auth (configurable), billing code, date, id', () => {
    const ext = buildCoverageInformation(determination(csiiTree()), base);
    expect(ext?.url).toBe(COVERAGE_INFORMATION_URL);
    expect(pairs(ext)).toEqual([cov, ['covered', 'covered'], ['pa-needed', 'no-auth'], billing, ...tail]);
    const noAssert = buildCoverageInformation(determination(csiiTree()), { ...base, assertNoAuth: false });
    expect(pairs(noAssert)).toEqual([cov, ['covered', 'covered'], billing, ...tail]);
  });

  it('a criterion contradicted by the record → not-covered, no pa-needed, reason names criteria and sections', () => {
    const ext = buildCoverageInformation(determination(csiiTree({ cpeptide: 'not-met', antibody: 'not-met' })), base);
    expect(pairs(ext)).toEqual([
      cov,
      ['covered', 'not-covered'],
      billing,
      [
        'reason',
        {
          text: 'Medicare — NCD 280.14 / LCD L33794: criteria not met: fasting C-peptide (LCD L33794 IV.A); positive beta-cell autoantibody (LCD L33794 IV.B)',
        },
      ],
      ...tail,
    ]);
  });

  it('gaps only on order-sign → conditional + doc-needed clinical + retain-doc + info-needed OTH + reason + questionnaire', () => {
    const ext = buildCoverageInformation(determination(csiiTree({ cpeptide: 'not-documented', smbg: 'not-documented' })), base);
    expect(pairs(ext)).toEqual([
      cov,
      ['covered', 'conditional'],
      ['doc-needed', 'clinical'],
      ['doc-purpose', 'retain-doc'],
      ['info-needed', 'OTH'],
      billing,
      [
        'reason',
        {
          text:
            'Medicare — NCD 280.14 / LCD L33794: not documented in the record: fasting C-peptide (LCD L33794 IV.A); ' +
            'positive beta-cell autoantibody (LCD L33794 IV.B); glucose self-testing (NCD 280.14 B.1.e(1)(c)); ' +
            'on an insulin pump before Medicare enrollment (NCD 280.14 B.1.e(2))',
        },
      ],
      ['questionnaire', 'https://pumpcheck.example.org/fhir/Questionnaire/csii-documentation'],
      ...tail,
    ]);
  });

  it('gaps only on order-select → conditional without doc-needed, doc-purpose or questionnaire (hook-19, q1)', () => {
    const opts = { ...base, hook: 'order-select' as const };
    const ext = buildCoverageInformation(determination(csiiTree({ education: 'not-documented' })), opts);
    const urls = pairs(ext).map(([u]) => u);
    expect(urls).toEqual(['coverage', 'covered', 'info-needed', 'billingCode', 'reason', 'date', 'coverage-assertion-id']);
    expect(checkCoverageInformation(ext, { hook: 'order-select', crdVersion: '2.0.1' })).toEqual([]);
  });

  it('indeterminate → 2.0.1: conditional + info-needed OTH + reason; 2.2: indeterminate + reason technical', () => {
    const det = determination(undefined, { outcome: 'indeterminate', message: 'FHIR server did not answer within 1500 ms' });
    const v201 = buildCoverageInformation(det, base);
    expect(pairs(v201)).toEqual([
      cov,
      ['covered', 'conditional'],
      ['info-needed', 'OTH'],
      billing,
      ['reason', { text: 'Medicare — NCD 280.14 / LCD L33794: coverage could not be evaluated: FHIR server did not answer within 1500 ms' }],
      ...tail,
    ]);
    const v22 = buildCoverageInformation(det, { ...base, crdVersion: '2.2' });
    expect(pairs(v22).slice(0, 2)).toEqual([cov, ['covered', 'indeterminate']]);
    const reason = pairs(v22).find(([u]) => u === 'reason')![1] as { coding: { code: string; system: string }[] };
    expect(reason.coding).toEqual([{ system: CRD_TEMP_SYSTEM, code: 'technical', display: 'Technical issue' }]);
    expect(checkCoverageInformation(v22, { crdVersion: '2.2' })).toEqual([]);
    expect(checkCoverageInformation(v22, { crdVersion: '2.0.1' })).toEqual([
      'crd-2.0.1: covered "indeterminate" does not exist in CRD 2.0.1',
      'crd-2.0.1: detail.category does not exist in CRD 2.0.1',
      'crd-2.0.1: detail.category does not exist in CRD 2.0.1',
    ]);
  });

  it('2.2 adds policy-link details with a category; 2.0.1 never does', () => {
    const det = determination(csiiTree());
    const v22 = buildCoverageInformation(det, { ...base, crdVersion: '2.2' });
    const details = v22!.extension!.filter((e) => e.url === 'detail');
    expect(details).toHaveLength(2);
    expect(details[0]!.extension!.map((e) => e.url)).toEqual(['category', 'code', 'value']);
    expect(details[0]!.extension![2]!.valueUrl).toBe('https://www.cms.gov/medicare-coverage-database/view/ncd.aspx?ncdid=223');
    expect(buildCoverageInformation(det, base)!.extension!.some((e) => e.url === 'detail' || e.url === 'expiry-date')).toBe(false);
  });

  it('no Coverage or no policy → no extension (coverage is 1..1)', () => {
    expect(buildCoverageInformation(determination(csiiTree(), { coverageRef: undefined }), base)).toBeUndefined();
    expect(buildCoverageInformation(determination(undefined, { policy: undefined, outcome: 'no-policy' }), base)).toBeUndefined();
  });

  it('every mapping satisfies crd-ci-q1..q9 in both versions and hooks', () => {
    const trees = [
      csiiTree(),
      csiiTree({ cpeptide: 'not-met', antibody: 'not-met' }),
      csiiTree({ cpeptide: 'not-documented' }),
      csiiTree({ pumpCode: 'not-met', smbg: 'not-documented' }),
    ];
    for (const hook of ['order-sign', 'order-select'] as const) {
      for (const crdVersion of ['2.0.1', '2.2'] as const) {
        for (const assertNoAuth of [true, false]) {
          const dets = [...trees.map((t) => determination(t)), determination(undefined, { outcome: 'indeterminate', message: 'timeout' })];
          for (const det of dets) {
            const ext = buildCoverageInformation(det, { ...base, hook, crdVersion, assertNoAuth });
            expect(checkCoverageInformation(ext, { hook, crdVersion }), `${hook} ${crdVersion} ${det.outcome}`).toEqual([]);
          }
        }
      }
    }
  });
});

describe('withCoverageInformation / coverageSystemAction', () => {
  const ext = (id: string, coverage = 'Coverage/cov-1'): Extension => ({
    url: COVERAGE_INFORMATION_URL,
    extension: [
      { url: 'coverage', valueReference: { reference: coverage } },
      { url: 'covered', valueCode: 'covered' },
      { url: 'date', valueDate: '2026-03-01' },
      { url: 'coverage-assertion-id', valueString: id },
    ],
  });

  it('returns the full draft order plus only the extension, without touching the (frozen) original', () => {
    const original = pumpResource();
    const action = coverageSystemAction(determination(csiiTree()), base)!;
    expect(action.type).toBe('update');
    expect(action.description).toBe('Record Medicare coverage information (criteria met) on DeviceRequest dr-1 (E0784)');
    const updated = action.resource as DeviceRequest;
    expect(updated).not.toBe(original);
    expect(updated.extension).toHaveLength(2);
    expect(updated.extension![0]).toEqual(original.extension![0]);
    expect(updated.extension![1]!.url).toBe(COVERAGE_INFORMATION_URL);
    const { extension: _a, ...restUpdated } = updated;
    const { extension: _b, ...restOriginal } = original;
    expect(restUpdated).toEqual(restOriginal);
    expect(() => assertOnlyCoverageInfoAdded(original, updated)).not.toThrow();
    expect(original.extension).toHaveLength(1);
  });

  it('replaces an earlier assertion for the same Coverage in place and keeps one for another Coverage', () => {
    const resource = deepFreeze({
      ...pumpResource(),
      extension: [
        { url: 'http://example.org/a', valueString: 'a' },
        ext('old', 'Coverage/cov-1'),
        ext('other', 'Coverage/cov-2'),
        { url: 'http://example.org/b', valueString: 'b' },
      ],
    });
    const updated = withCoverageInformation(resource, ext('new'));
    expect(updated.extension!.map((e) => e.url === COVERAGE_INFORMATION_URL ? e.extension![3]!.valueString : e.url)).toEqual([
      'http://example.org/a',
      'new',
      'other',
      'http://example.org/b',
    ]);
    expect(resource.extension[1]).toEqual(ext('old'));
  });

  it('adds an extension array to a resource that had none', () => {
    const { extension: _drop, ...bare } = pumpResource();
    const updated = withCoverageInformation(deepFreeze(bare as DeviceRequest), ext('x'));
    expect(updated.extension).toEqual([ext('x')]);
    expect(() => assertOnlyCoverageInfoAdded(bare, updated)).not.toThrow();
  });

  it('works for a MedicationRequest order too', () => {
    const med = deepFreeze({
      resourceType: 'MedicationRequest' as const,
      id: 'mr-1',
      status: 'draft' as const,
      intent: 'order' as const,
      medicationCodeableConcept: { coding: [{ system: 'https://bluebutton.cms.gov/resources/codesystem/hcpcs', code: 'J1817', display: 'Insulin for an insulin pump, per 50 units' }] },
      subject: { reference: 'Patient/pt-1' },
    });
    const det = determination(csiiTree(), { order: { ...pumpOrder(med), role: 'drug' } });
    const action = coverageSystemAction(det, base)!;
    expect(action.description).toBe('Record Medicare coverage information (criteria met) on MedicationRequest mr-1 (J1817)');
    expect(() => assertOnlyCoverageInfoAdded(med, action.resource)).not.toThrow();
  });
});

describe('checkCoverageInformation — each invariant can fail', () => {
  const good = (): Extension => buildCoverageInformation(determination(csiiTree({ education: 'not-documented' })), base)!;
  const edit = (f: (subs: Extension[]) => Extension[]): Extension => {
    const e = good();
    return { ...e, extension: f(structuredClone(e.extension!)) };
  };
  const without = (url: string) => (s: Extension[]) => s.filter((e) => e.url !== url);
  const plus = (url: string, value: Omit<Extension, 'url'>) => (s: Extension[]) => [...s, { url, ...value }];
  const set = (url: string, valueCode: string) => (s: Extension[]) => s.map((e) => (e.url === url ? { url, valueCode } : e));

  it('accepts the good extension', () => {
    expect(checkCoverageInformation(good(), { crdVersion: '2.0.1', hook: 'order-sign' })).toEqual([]);
  });

  it.each([
    ['crd-ci-q1', without('doc-needed')],
    ['crd-ci-q2', (s: Extension[]) => plus('pa-needed', { valueCode: 'auth-needed' })(set('covered', 'not-covered')(s))],
    ['crd-ci-q3', without('info-needed')],
    ['crd-ci-q4', (s: Extension[]) => plus('pa-needed', { valueCode: 'no-auth' })(set('doc-purpose', 'withpa')(s))],
    ['crd-ci-q5', plus('satisfied-pa-id', { valueString: 'pa-1' })],
    ['crd-ci-q6', without('reason')],
    ['crd-ci-q7', (s: Extension[]) => s.map((e) => (e.url === 'reason' ? { url: 'reason', valueCodeableConcept: { coding: [{ system: 'http://example.org', code: 'x' }] } } : e))],
    ['crd-ci-q8', without('reason')],
    ['crd-ci-q9', (s: Extension[]) => without('reason')(set('covered', 'indeterminate')(s))],
  ])('%s', (rule, change) => {
    const violations = checkCoverageInformation(edit(change));
    expect(violations.some((v) => v.startsWith(`${rule}:`)), violations.join('\n')).toBe(true);
  });

  it('reports cardinality, hook-19 and 2.0.1-only problems', () => {
    expect(checkCoverageInformation(edit(without('coverage')))).toContain('cardinality: coverage occurs 0 times (allowed 1..1)');
    expect(checkCoverageInformation(edit(without('coverage-assertion-id')))).toContain('cardinality: coverage-assertion-id occurs 0 times (allowed 1..1)');
    expect(checkCoverageInformation(good(), { hook: 'order-select' })).toEqual(['hook-19: doc-needed clinical/admin on order-select']);
    expect(checkCoverageInformation(edit(plus('expiry-date', { valueDate: '2026-12-31' })), { crdVersion: '2.0.1' })).toEqual([
      'crd-2.0.1: expiry-date does not exist in CRD 2.0.1',
    ]);
    expect(checkCoverageInformation(edit(set('covered', 'maybe')))).toContain('value: covered "maybe" is not a known code');
    expect(checkCoverageInformation({ url: 'x' })).toEqual(['structure: url is not ' + COVERAGE_INFORMATION_URL, 'structure: no sub-extensions']);
  });
});

describe('assertOnlyCoverageInfoAdded', () => {
  it('throws naming what else changed', () => {
    const original = pumpResource();
    const changed = { ...withCoverageInformation(original, buildCoverageInformation(determination(csiiTree()), base)!), status: 'active' };
    expect(() => assertOnlyCoverageInfoAdded(original, changed)).toThrow(/status/);
    const droppedOther = { ...original, extension: [] };
    expect(() => assertOnlyCoverageInfoAdded(original, droppedOther)).toThrow(/extension/);
  });
});

describe('buildCoverageInformation — where the claim goes (policy billingNote, issue 10)', () => {
  const note = 'Implantable pumps and their drugs and supplies are billed to the A/B MAC, not the DME MAC (CMS MLN Infusion Pumps & Related Drugs, Implantable Infusion Pumps)';
  const withNote = (root: ReturnType<typeof csiiTree>) => {
    const det = determination(root);
    return { ...det, policy: { ...det.policy!, billingNote: note } };
  };
  const reason = (ext: Extension | undefined) => pairs(ext).find(([url]) => url === 'reason')?.[1] as { text?: string } | undefined;

  it('a covered order carries the route as its reason', () => {
    expect(reason(buildCoverageInformation(withNote(csiiTree()), base))?.text).toBe(`Medicare — NCD 280.14 / LCD L33794: ${note}`);
  });

  it('a conditional or not-covered reason ends with the route', () => {
    expect(reason(buildCoverageInformation(withNote(csiiTree({ team: 'not-documented' })), base))?.text).toMatch(/not documented in the record: .*\. Implantable pumps .* not the DME MAC/);
    expect(reason(buildCoverageInformation(withNote(csiiTree({ cpeptide: 'not-met', antibody: 'not-met' })), base))?.text).toMatch(/criteria not met: .*A\/B MAC, not the DME MAC/);
  });

  it('no billingNote: no reason on a covered order (unchanged)', () => {
    expect(reason(buildCoverageInformation(determination(csiiTree()), base))).toBeUndefined();
  });
});
