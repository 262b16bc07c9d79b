// Hand-built determinations for the card tests (not used at run time). Trees follow DESIGN §3's combinators.
import type { DeviceRequest, MedicationRequest } from 'fhir/r4';
import type { BuildOptions } from '../../cards/build.js';
import type { CriterionResult, Determination, Evidence, InfusionOrder, PolicySummary, Remedy, TriState } from '../../src/policy/types.js';

import { HCPCS_BLUEBUTTON as BLUEBUTTON_HCPCS, LOINC } from '../../src/fhir/systems.js';

export { BLUEBUTTON_HCPCS, LOINC };

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

export const policy: PolicySummary = deepFreeze({
  id: 'medicare-csii',
  title: 'External insulin pump (CSII)',
  version: '2026.1',
  sourceLabel: 'Medicare — NCD 280.14 / LCD L33794',
  payerLabel: 'Medicare',
  links: [
    { label: 'NCD 280.14 Infusion Pumps', url: 'https://www.cms.gov/medicare-coverage-database/view/ncd.aspx?ncdid=223' },
    { label: 'LCD L33794 External Infusion Pumps', url: 'https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=33794' },
  ],
  questionnaireId: 'csii-documentation',
});

export function leaf(
  id: string,
  status: TriState,
  text: string,
  extra: { citation?: string; evidence?: Evidence[]; reason?: string; remedies?: Remedy[] } = {},
): CriterionResult {
  return {
    id,
    text,
    citation: extra.citation ?? 'LCD L33794 IV',
    op: 'leaf',
    status,
    evidence: extra.evidence ?? [],
    ...(extra.reason ? { reason: extra.reason } : {}),
    ...(extra.remedies ? { remedies: extra.remedies } : {}),
  };
}

export function group(id: string, op: 'allOf' | 'anyOf', text: string, children: CriterionResult[], citation = 'LCD L33794 IV'): CriterionResult {
  const s = children.map((c) => c.status);
  let status: TriState;
  if (op === 'allOf') status = s.includes('not-met') ? 'not-met' : s.includes('not-documented') ? 'not-documented' : 'met';
  else status = s.includes('met') ? 'met' : s.includes('not-documented') ? 'not-documented' : 'not-met';
  return { id, text, citation, op, status, evidence: [], children };
}

/**
 * Leaves that decide a non-met node: every non-met child of an allOf; of an anyOf, the undocumented children when
 * it is undocumented (a contradicted alternative does not decide it), every child when it is not met.
 */
export function decisiveLeaves(node: CriterionResult): CriterionResult[] {
  if (node.status === 'met') return [];
  if (!node.children || node.children.length === 0) return [node];
  const children = node.op === 'anyOf' && node.status === 'not-documented' ? node.children.filter((c) => c.status === 'not-documented') : node.children;
  return children.filter((c) => c.status !== 'met').flatMap(decisiveLeaves);
}

const cpeptideLab: Remedy = { type: 'order-lab', code: [{ system: LOINC, code: '13037-7', display: 'C peptide [Mass/volume] in Serum or Plasma --fasting' }], label: 'fasting C-peptide' };
const glucoseLab: Remedy = { type: 'order-lab', code: [{ system: LOINC, code: '1558-6', display: 'Fasting glucose [Mass/volume] in Serum or Plasma' }], label: 'fasting glucose (same draw)' };
const antibodyLab: Remedy = {
  type: 'order-lab',
  code: [
    { system: LOINC, code: '13926-1', display: 'Glutamate decarboxylase 65 Ab [Units/volume] in Serum' },
    { system: LOINC, code: '8072-1', display: 'Insulin Ab [Units/volume] in Serum' },
  ],
  label: 'diabetes autoantibody panel',
};
const hba1cLab: Remedy = { type: 'order-lab', code: [{ system: LOINC, code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood' }], label: 'HbA1c' };

export type Status = Partial<Record<'pumpCode' | 'diabetes' | 'cpeptide' | 'antibody' | 'education' | 'mdi' | 'smbg' | 'hba1c' | 'preMedicare' | 'team', TriState>>;

/** The CSII tree with each leaf's status settable; met leaves carry evidence. */
export function csiiTree(st: Status = {}): CriterionResult {
  const s = (k: keyof Status, d: TriState = 'met'): TriState => st[k] ?? d;
  const ev = (e: Evidence[], k: keyof Status, d: TriState = 'met'): Evidence[] => (s(k, d) === 'not-documented' ? [] : e);
  return group('csii', 'allOf', 'Medicare CSII criteria for an external insulin pump', [
    leaf('pump-code', s('pumpCode'), 'Insulin pump ordered as E0784', {
      citation: 'LCD L33794 IV; A52507',
      evidence: [{ value: s('pumpCode') === 'met' ? 'E0784' : 'E0781' }],
      ...(s('pumpCode') === 'not-met'
        ? {
            reason: 'Ordered as E0781; Medicare pays for CSII pumps only under E0784',
            remedies: [{ type: 'change-order-code', to: { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'E0784', display: 'External ambulatory infusion pump, insulin' } }],
          }
        : {}),
    }),
    leaf('diabetes', s('diabetes'), 'Diabetes mellitus diagnosis (ICD-10-CM E08–E13)', {
      citation: 'NCD 280.14 B.1.e',
      evidence: ev([{ reference: 'Condition/c1', value: 'E10.65 Type 1 diabetes with hyperglycemia', date: '2019-03-02' }], 'diabetes'),
    }),
    group('insulinopenia', 'anyOf', 'Insulinopenia shown (C-peptide or autoantibody)', [
      leaf('c-peptide', s('cpeptide'), "Fasting C-peptide ≤ 110% of the lab's lower limit, with fasting glucose ≤ 225 mg/dL the same day", {
        citation: 'LCD L33794 IV.A',
        evidence: ev(
          [
            {
              reference: 'Observation/cp1',
              value: s('cpeptide') === 'not-met' ? '1.5 ng/mL' : '0.4 ng/mL',
              note: s('cpeptide') === 'not-met' ? 'ratio 188%' : 'ratio 50%',
              threshold: '≤ 110% of lower limit 0.8 ng/mL',
              date: '2026-01-15T08:10:00Z',
            },
          ],
          'cpeptide',
        ),
        ...(s('cpeptide') === 'not-met' ? { reason: 'Fasting C-peptide 188% of lower limit — insulinopenia not shown' } : {}),
        ...(s('cpeptide') === 'not-documented' ? { reason: 'No fasting C-peptide with a same-day fasting glucose in the record', remedies: [cpeptideLab, glucoseLab] } : {}),
      }),
      leaf('autoantibody', s('antibody', 'not-documented'), 'Positive beta-cell autoantibody (GAD65, IA-2, ZnT8, insulin, islet cell)', {
        citation: 'LCD L33794 IV.B',
        evidence: s('antibody', 'not-documented') === 'not-documented' ? [] : [{ reference: 'Observation/gad', value: s('antibody', 'not-documented') === 'met' ? 'GAD65 Ab 35 IU/mL (positive)' : 'GAD65 Ab negative', date: '2025-11-02' }],
        ...(s('antibody', 'not-documented') === 'not-documented' ? { reason: 'No autoantibody result in the record', remedies: [antibodyLab] } : {}),
      }),
    ]),
    group('pathway', 'anyOf', 'MDI pathway or on a pump before Medicare', [
      group('mdi-pathway', 'allOf', 'Multiple daily injection (MDI) pathway', [
        leaf('education', s('education'), 'Diabetes education completed', {
          citation: 'NCD 280.14 B.1.e(1)(a)',
          evidence: ev([{ reference: 'QuestionnaireResponse/qr1', value: 'attested', date: '2026-03-20' }], 'education'),
          ...(s('education') === 'not-documented' ? { reason: 'Not attested in the documentation form', remedies: [{ type: 'questionnaire', linkId: 'education' }] } : {}),
        }),
        leaf('mdi', s('mdi'), 'Multiple daily injections ≥ 3/day for ≥ 6 months with frequent self-adjustment', {
          citation: 'NCD 280.14 B.1.e(1)(b)',
          evidence: ev([{ value: '4 injections/day since 2024-05-01' }], 'mdi'),
        }),
        leaf('smbg', s('smbg'), 'Glucose self-testing ≥ 4 times/day over the 2 months before the order (or CGM)', {
          citation: 'NCD 280.14 B.1.e(1)(c)',
          evidence: ev([{ value: '5.2 tests/day', date: '2026-03-31' }], 'smbg'),
          ...(s('smbg') === 'not-documented' ? { reason: 'No glucose log or CGM use in the record' } : {}),
        }),
        leaf('hba1c', s('hba1c'), 'HbA1c > 7.0% or another glycemic criterion during MDI', {
          citation: 'NCD 280.14 B.1.e(1)(d)',
          evidence: ev([{ reference: 'Observation/a1c', value: '8.1 %', date: '2026-02-10' }], 'hba1c'),
          ...(s('hba1c') === 'not-documented' ? { remedies: [hba1cLab] } : {}),
        }),
      ]),
      leaf('pre-medicare', s('preMedicare', 'not-documented'), 'On an insulin pump before Medicare enrollment', {
        citation: 'NCD 280.14 B.1.e(2)',
        remedies: [{ type: 'questionnaire', linkId: 'pre-medicare' }],
      }),
    ]),
    leaf('team', s('team'), 'Ordering practitioner manages CSII patients with a team', {
      citation: 'LCD L33794 IV',
      evidence: ev([{ reference: 'QuestionnaireResponse/qr1', value: 'attested', date: '2026-03-20' }], 'team'),
    }),
  ]);
}

export function pumpResource(id = 'dr-1', code = 'E0784', display = 'External ambulatory infusion pump, insulin'): DeviceRequest {
  return deepFreeze({
    resourceType: 'DeviceRequest',
    id,
    meta: { profile: ['http://hl7.org/fhir/us/davinci-crd/StructureDefinition/profile-devicerequest'] },
    extension: [{ url: 'http://example.org/fhir/StructureDefinition/order-note', valueString: 'keep me' }],
    status: 'draft',
    intent: 'original-order',
    codeCodeableConcept: {
      coding: [
        { system: 'http://snomed.info/sct', code: '69805005', display: 'Insulin pump' },
        { system: BLUEBUTTON_HCPCS, code, display },
      ],
    },
    subject: { reference: 'Patient/pt-1' },
    encounter: { reference: 'Encounter/enc-1' },
    authoredOn: '2026-04-01T10:00:00Z',
    requester: { reference: 'PractitionerRole/pr-1' },
    insurance: [{ reference: 'Coverage/cov-1' }],
  } satisfies DeviceRequest);
}

export function pumpOrder(
  resource: DeviceRequest | MedicationRequest = pumpResource(),
  extra: Partial<InfusionOrder> = {},
): InfusionOrder {
  const codings = resource.resourceType === 'DeviceRequest' ? resource.codeCodeableConcept?.coding ?? [] : resource.medicationCodeableConcept?.coding ?? [];
  const hcpcs = codings.find((c) => c.system === BLUEBUTTON_HCPCS)?.code;
  const display = codings.find((c) => c.system === BLUEBUTTON_HCPCS)?.display ?? '';
  return {
    ref: `${resource.resourceType}/${resource.id}`,
    resource,
    role: 'pump',
    ...(hcpcs ? { hcpcs } : {}),
    codings: codings.map((c) => ({ system: c.system!, code: c.code!, ...(c.display ? { display: c.display } : {}) })),
    pumpKind: 'external',
    label: hcpcs ? `${hcpcs} ${display}` : display,
    authoredOn: resource.authoredOn,
    requester: 'PractitionerRole/pr-1',
    insurance: ['Coverage/cov-1'],
    companions: [],
    groupKey: 'draftOrders',
    drug: { status: 'not-identified', ingredients: [], names: [], hcpcs: [] },
    setting: { value: 'unknown', source: 'none' },
    pumpsOnRecord: [],
    selected: true,
    ...extra,
  };
}

export function determination(root: CriterionResult | undefined, extra: Partial<Determination> = {}): Determination {
  const decisive = root ? decisiveLeaves(root) : [];
  const unmet = decisive.filter((c) => c.status === 'not-met');
  const undocumented = decisive.filter((c) => c.status === 'not-documented');
  const outcome = !root ? 'indeterminate' : unmet.length > 0 ? 'not-covered' : undocumented.length > 0 ? 'conditional' : 'covered';
  return {
    order: pumpOrder(),
    policy,
    coverageRef: 'Coverage/cov-1',
    outcome,
    ...(root ? { root } : {}),
    unmet,
    undocumented,
    asOf: '2026-04-01T10:00:00Z',
    // What the CSII policy file declares (policies/medicare-csii.policy.json "crd").
    crd: { docNeeded: 'clinical', docPurpose: ['retain-doc'] },
    ...extra,
  };
}

export function counter(prefix: 'uuid' | 'assertion'): () => string {
  let n = 0;
  return () => {
    n += 1;
    return prefix === 'uuid' ? `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` : `pc-assert-${n}`;
  };
}

export function options(extra: Partial<BuildOptions> = {}): BuildOptions {
  return {
    hook: 'order-sign',
    crdVersion: '2.0.1',
    topicSystem: 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp',
    findingIndicator: 'warning',
    infoWhenCovered: false,
    assertNoAuth: true,
    questionnaireUrl: (id) => `https://pumpcheck.example.org/fhir/Questionnaire/${id}`,
    configuration: { coverageInfo: true, guideline: true, maxCards: 10 },
    newUuid: counter('uuid'),
    newAssertionId: counter('assertion'),
    today: '2026-04-01',
    patientRef: 'Patient/pt-1',
    ...extra,
  };
}
