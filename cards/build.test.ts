import { existsSync } from 'node:fs';
import type { DeviceRequest, Extension, ServiceRequest } from 'fhir/r4';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Card } from '../src/cds/types.js';
import type { CriterionResult, Determination, InfusionOrder } from '../src/policy/types.js';
import { OVERRIDE_REASONS, buildHookResponse, type BuildOptions, type BuiltResponse } from './build.js';
import { COVERAGE_INFORMATION_URL } from './coverage-information.js';
import { crdCardType, loadSchemaValidator, responseProblems } from '../test/support/card-shapes.js';
import {
  BLUEBUTTON_HCPCS,
  LOINC,
  csiiTree,
  deepFreeze,
  determination,
  group,
  leaf,
  options,
  policy,
  pumpOrder,
  pumpResource,
} from '../test/support/card-fixtures.js';

let schemaValidator: ((body: unknown) => string[]) | undefined;
beforeAll(async () => {
  schemaValidator = await loadSchemaValidator();
});

/** Build, then check every rule every response must satisfy. */
function build(dets: Determination[], extra: Partial<BuildOptions> = {}): BuiltResponse {
  const frozen = dets.map((d) => deepFreeze(d));
  const opts = options(extra);
  const built = buildHookResponse(frozen, opts);
  expect(responseProblems(built.response, frozen, opts)).toEqual([]);
  if (schemaValidator) expect(schemaValidator(JSON.parse(JSON.stringify(built.response)))).toEqual([]);
  // Deterministic with the same generators.
  expect(buildHookResponse(frozen, options(extra))).toEqual(built);
  return built;
}

function coverageExt(resource: unknown): Extension {
  const ext = ((resource as DeviceRequest).extension ?? []).find((e) => e.url === COVERAGE_INFORMATION_URL);
  if (!ext) throw new Error('no coverage-information');
  return ext;
}

function sub(ext: Extension, url: string): unknown[] {
  return (ext.extension ?? []).filter((e) => e.url === url).map((e) => {
    const key = Object.keys(e).find((k) => k.startsWith('value'))!;
    return (e as unknown as Record<string, unknown>)[key];
  });
}

const TOPIC = 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp';
const coverageTopic = { system: TOPIC, code: 'coverage-info', display: 'Coverage Information' };
const guidelineTopic = { system: TOPIC, code: 'guideline', display: 'Guideline' };
const associated = (...refs: string[]) => ({ 'davinci-crd.associated-resource': refs.map((reference) => ({ reference })) });
const QURL = 'https://pumpcheck.example.org/fhir/Questionnaire/csii-documentation';

const referenceCard = (uuid: string, orders: string[], names: string[]): Card => ({
  uuid,
  summary: 'Medicare NCD 280.14 / LCD L33794 — policy text and documentation form',
  indicator: 'info',
  detail:
    `Coverage criteria applied: External insulin pump (CSII) (version 2026.1), for ${names.join('; ')}.\n\n` +
    '- [NCD 280.14 Infusion Pumps](<https://www.cms.gov/medicare-coverage-database/view/ncd.aspx?ncdid=223>)\n' +
    '- [LCD L33794 External Infusion Pumps](<https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=33794>)\n' +
    `- [Documentation form (FHIR Questionnaire)](<${QURL}>)`,
  source: { label: 'Medicare — NCD 280.14 / LCD L33794', topic: guidelineTopic },
  links: [
    { label: 'NCD 280.14 Infusion Pumps', url: 'https://www.cms.gov/medicare-coverage-database/view/ncd.aspx?ncdid=223', type: 'absolute' },
    { label: 'LCD L33794 External Infusion Pumps', url: 'https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=33794', type: 'absolute' },
    { label: 'Documentation form (FHIR Questionnaire)', url: QURL, type: 'absolute' },
  ],
  extension: associated(...orders),
});

const DR1_NAME = 'E0784 External ambulatory infusion pump, insulin';
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

describe('order-sign: all criteria met', () => {
  it('sends no card, only the covered assertion', () => {
    const det = determination(csiiTree());
    const built = build([det]);
    expect(built.response.cards).toEqual([]);
    expect(built.response.systemActions).toHaveLength(1);
    const action = built.response.systemActions![0]!;
    expect(action.description).toBe('Record Medicare coverage information (criteria met) on DeviceRequest dr-1 (E0784)');
    const ext = coverageExt(action.resource);
    expect(sub(ext, 'covered')).toEqual(['covered']);
    expect(sub(ext, 'pa-needed')).toEqual(['no-auth']);
    expect(sub(ext, 'coverage-assertion-id')).toEqual(['pc-assert-1']);
    expect(built.perOrder).toEqual([{ orderRef: 'DeviceRequest/dr-1', assertionId: 'pc-assert-1', cards: [] }]);
  });

  it('with infoWhenCovered: an info Instructions card and the reference card', () => {
    const built = build([determination(csiiTree())], { infoWhenCovered: true });
    const [info, ref] = built.response.cards;
    expect(built.response.cards).toHaveLength(2);
    expect(info).toMatchObject({
      uuid: uuid(1),
      summary: 'Insulin pump E0784: all 5 Medicare requirements documented (NCD 280.14 / LCD L33794)',
      indicator: 'info',
      source: { label: 'Medicare — NCD 280.14 / LCD L33794', topic: coverageTopic },
      extension: associated('DeviceRequest/dr-1'),
    });
    expect(Object.keys(info!).sort()).toEqual(['detail', 'extension', 'indicator', 'source', 'summary', 'uuid']);
    expect(crdCardType(info!)).toBe('instructions');
    expect(info!.detail).toMatch(/^\*\*E0784 External ambulatory infusion pump, insulin\*\*\n\n\*\*All criteria documented\*\*/);
    expect(info!.detail).not.toContain('✓');
    expect(ref).toEqual(referenceCard(uuid(2), ['DeviceRequest/dr-1'], [DR1_NAME]));
    expect(built.perOrder[0]!.cards).toEqual([{ uuid: uuid(1), indicator: 'info', criteria: [], suggestionUuids: [] }]);
  });
});

describe('order-sign: a criterion not met (fasting C-peptide 188%)', () => {
  const det = () => determination(csiiTree({ cpeptide: 'not-met', antibody: 'not-met' }));

  it('one decisive warning Instructions card naming the gap with its value', () => {
    const built = build([det()]);
    expect(built.response.cards.map((c) => [c.indicator, crdCardType(c)])).toEqual([
      ['warning', 'instructions'],
      ['info', 'external-reference'],
    ]);
    const card = built.response.cards[0]!;
    expect(card.summary).toBe('Insulin pump E0784: fasting C-peptide 188% of lower limit — insulinopenia not shown');
    expect(card.source).toEqual({ label: 'Medicare — NCD 280.14 / LCD L33794', topic: coverageTopic });
    expect(card.overrideReasons).toEqual([
      { system: 'http://pumpcheck.example.org/CodeSystem/override-reason', code: 'documented-elsewhere', display: 'Documentation exists outside this EHR' },
      { system: 'http://pumpcheck.example.org/CodeSystem/override-reason', code: 'abn-signed', display: 'Patient accepts financial responsibility (ABN signed)' },
      { system: 'http://pumpcheck.example.org/CodeSystem/override-reason', code: 'clinical-judgement', display: 'Clinical judgement: proceed as ordered' },
      { system: 'http://pumpcheck.example.org/CodeSystem/override-reason', code: 'not-this-payer', display: "Patient's coverage is not the payer shown" },
    ]);
    expect(card.extension).toEqual(associated('DeviceRequest/dr-1'));
    const detail = card.detail!;
    expect(detail.startsWith(`**${DR1_NAME}**\n\n**Not covered as ordered** under Medicare — NCD 280.14 / LCD L33794`)).toBe(true);
    // Leads with what is wrong and what to do, then the open items only, then one line for what is met.
    expect(detail).toContain(': fasting C-peptide 188% of lower limit — insulinopenia not shown. If the record is wrong, correct it and sign again;');
    expect(detail).toContain(
      "  - ✗ Fasting C-peptide ≤ 110% of the lab's lower limit, with fasting glucose ≤ 225 mg/dL the same day — Fasting C-peptide 188% of lower limit — insulinopenia not shown _(LCD L33794 IV.A)_",
    );
    expect(detail).toContain('  - ✗ Positive beta-cell autoantibody (GAD65, IA-2, ZnT8, insulin, islet cell) — GAD65 Ab negative on 2025-11-02 _(LCD L33794 IV.B)_');
    expect(detail).toContain('4 other requirements met. (✗ not met · ? not documented)');
    expect(detail).not.toContain('✓');
    // The policy links are on the reference card.
    expect(detail).not.toContain('Policy: [NCD 280.14');
    expect(built.perOrder[0]!.cards).toEqual([{ uuid: card.uuid, indicator: 'warning', criteria: ['c-peptide', 'autoantibody'], suggestionUuids: [] }]);
    const ext = coverageExt(built.response.systemActions![0]!.resource);
    expect(sub(ext, 'covered')).toEqual(['not-covered']);
    expect(sub(ext, 'pa-needed')).toEqual([]);
  });

  it('uses the configured finding indicator, never critical by default', () => {
    expect(build([det()], { findingIndicator: 'critical' }).response.cards[0]!.indicator).toBe('critical');
    expect(build([det()], { findingIndicator: 'info' }).response.cards[0]!.indicator).toBe('info');
  });
});

describe('order-sign: documentation missing', () => {
  it('a warning Identify Additional Orders card with ServiceRequest creates and the questionnaire in detail', () => {
    const built = build([determination(csiiTree({ cpeptide: 'not-documented', education: 'not-documented', smbg: 'not-documented' }))]);
    const card = built.response.cards[0]!;
    expect(crdCardType(card)).toBe('additional-orders');
    expect(card.indicator).toBe('warning');
    expect(card.summary).toBe('Insulin pump E0784: 2 Medicare requirements not documented (fasting C-peptide and multiple daily injection)');
    expect(card.selectionBehavior).toBe('any');
    expect(card.links).toBeUndefined();
    expect(card.detail).toContain(`Add what is missing to the record, or answer it in the [documentation form](<${QURL}>), then sign again.`);
    expect(card.detail).toContain('Diabetes education completed — Not attested in the documentation form _(');
    expect(card.detail).toContain('    - ? Glucose self-testing ≥ 4 times/day over the 2 months before the order (or CGM) — No glucose log or CGM use in the record _(NCD 280.14 B.1.e(1)(c))_');
    expect(card.suggestions!.map((s) => [s.label, s.isRecommended])).toEqual([
      ['Order fasting C-peptide + fasting glucose (same draw)', undefined],
      ['Order diabetes autoantibody panel', undefined],
    ]);
    const [cpep, glucose] = card.suggestions![0]!.actions!;
    expect(cpep).toEqual({
      type: 'create',
      description: 'Add a draft lab order for fasting C-peptide (LCD L33794 IV.A)',
      resource: {
        resourceType: 'ServiceRequest',
        id: `pumpcheck-${uuid(2)}`,
        status: 'draft',
        intent: 'original-order',
        category: [{ coding: [{ system: 'http://snomed.info/sct', code: '108252007', display: 'Laboratory procedure' }] }],
        code: { coding: [{ system: LOINC, code: '13037-7', display: 'C peptide [Mass/volume] in Serum or Plasma --fasting' }], text: 'fasting C-peptide' },
        subject: { reference: 'Patient/pt-1' },
        authoredOn: '2026-04-01',
        encounter: { reference: 'Encounter/enc-1' },
        requester: { reference: 'PractitionerRole/pr-1' },
      } satisfies ServiceRequest,
    });
    expect((glucose!.resource as ServiceRequest).code!.coding![0]!.code).toBe('1558-6');
    const panel = card.suggestions![1]!.actions![0]!.resource as ServiceRequest;
    expect(panel.code!.coding!.map((c) => c.code)).toEqual(['13926-1', '8072-1']);

    const ext = coverageExt(built.response.systemActions![0]!.resource);
    expect(sub(ext, 'covered')).toEqual(['conditional']);
    expect(sub(ext, 'doc-needed')).toEqual(['clinical']);
    expect(sub(ext, 'doc-purpose')).toEqual(['retain-doc']);
    expect(sub(ext, 'info-needed')).toEqual(['OTH']);
    expect(sub(ext, 'questionnaire')).toEqual([QURL]);
    expect(built.perOrder[0]!.cards[0]!.suggestionUuids).toEqual(card.suggestions!.map((s) => s.uuid));
    expect(built.perOrder[0]!.cards[0]!.criteria).toEqual(['c-peptide', 'autoantibody', 'education', 'smbg', 'pre-medicare']);
  });

  it('recommends a lab that is the only way to close its gap; omits requester when the order has none', () => {
    const det = determination(csiiTree({ hba1c: 'not-documented', preMedicare: 'not-met' }), { order: pumpOrder(pumpResource(), { requester: undefined }) });
    const card = build([det]).response.cards[0]!;
    expect(card.summary).toBe('Insulin pump E0784: HbA1c not documented — required by Medicare');
    expect(card.suggestions).toHaveLength(1);
    expect(card.suggestions![0]!.isRecommended).toBe(true);
    expect(card.suggestions![0]!.actions![0]!.resource).not.toHaveProperty('requester');
  });

  it('an undocumented criterion without a lab remedy gives an Instructions card', () => {
    const card = build([determination(csiiTree({ smbg: 'not-documented', education: 'not-documented' }))]).response.cards[0]!;
    expect(crdCardType(card)).toBe('instructions');
    expect(card.summary).toBe('Insulin pump E0784: multiple daily injection not documented — required by Medicare');
  });

  it('adds a Launch SMART card when an app is configured', () => {
    const built = build([determination(csiiTree({ education: 'not-documented' }))], { smartAppUrl: 'https://app.example.org/launch' });
    const smart = built.response.cards.find((c) => crdCardType(c) === 'launch-smart')!;
    expect(smart).toMatchObject({
      indicator: 'info',
      summary: 'Complete the Medicare documentation form for External insulin pump (CSII)',
      links: [
        {
          label: 'Complete the documentation form',
          url: 'https://app.example.org/launch',
          type: 'smart',
          appContext: JSON.stringify({ questionnaire: QURL, orders: ['DeviceRequest/dr-1'] }),
        },
      ],
    });
    expect(built.response.cards.map(crdCardType)).toEqual(['instructions', 'launch-smart', 'external-reference']);
  });
});

describe('order-sign: not covered as written', () => {
  const wrong = () => pumpResource('dr-2', 'E0781', 'Ambulatory infusion pump, single or multiple channels');

  it('wrong pump code alone: the decisive card proposes the code change (update of the full draft)', () => {
    const original = wrong();
    const built = build([determination(csiiTree({ pumpCode: 'not-met' }), { order: pumpOrder(original) })]);
    expect(built.response.cards.map(crdCardType)).toEqual(['propose-alternate', 'external-reference']);
    const card = built.response.cards[0]!;
    expect(card.summary).toBe('Infusion pump E0781: ordered as E0781; Medicare pays for CSII pumps only under E0784');
    expect(card.suggestions).toHaveLength(1);
    const suggestion = card.suggestions![0]!;
    expect(suggestion.label).toBe('Change the order code to E0784 (External ambulatory infusion pump, insulin)');
    expect(suggestion.isRecommended).toBe(true);
    const action = suggestion.actions![0]!;
    expect(action.type).toBe('update');
    expect(action.description).toBe('Change DeviceRequest dr-2 from E0781 to E0784 External ambulatory infusion pump, insulin (LCD L33794 IV; A52507)');
    const updated = action.resource as DeviceRequest;
    expect(updated.codeCodeableConcept).toEqual({
      coding: [
        { system: 'http://snomed.info/sct', code: '69805005', display: 'Insulin pump' },
        { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'E0784', display: 'External ambulatory infusion pump, insulin' },
      ],
    });
    const { codeCodeableConcept: _a, ...restUpdated } = updated;
    const { codeCodeableConcept: _b, ...restOriginal } = original;
    expect(restUpdated).toEqual(restOriginal);
    expect(original.codeCodeableConcept!.coding![1]!.code).toBe('E0781');
  });

  it('wrong code plus missing labs: not covered as coded, so one card with the code change and no lab orders', () => {
    const built = build([determination(csiiTree({ pumpCode: 'not-met', cpeptide: 'not-documented' }), { order: pumpOrder(wrong()) })]);
    expect(built.response.cards.map((c) => [c.indicator, crdCardType(c)])).toEqual([
      ['warning', 'propose-alternate'],
      ['info', 'external-reference'],
    ]);
    const [decisive] = built.response.cards;
    // Only the reason it is not covered counts: the undocumented C-peptide cannot change a not-covered outcome.
    expect(decisive!.summary).toBe('Infusion pump E0781: ordered as E0781; Medicare pays for CSII pumps only under E0784');
    expect(decisive!.detail).not.toMatch(/C-peptide|documentation form/);
    expect(decisive!.suggestions!.map((sg) => sg.label)).toEqual([expect.stringMatching(/E0784/)]);
    expect(JSON.stringify(decisive!.suggestions)).not.toContain('ServiceRequest');
    expect(decisive!.overrideReasons).toHaveLength(4);
    expect(decisive!.extension).toEqual(associated('DeviceRequest/dr-2'));
  });

  it('implantable insulin pump: a plain delete suggestion', () => {
    const implant = pumpResource('dr-9', 'E0782', 'Infusion pump, implantable, non-programmable');
    const root = group('implantable-rule', 'allOf', 'Medicare insulin pump rules', [
      leaf('external-only', 'not-met', 'Insulin pump is external (implantable insulin pumps are not covered)', {
        citation: 'NCD 280.14 C.2.b',
        reason: 'Implantable insulin pumps are not covered by Medicare',
        evidence: [{ value: 'E0782 implantable' }],
        remedies: [{ type: 'remove-order' }],
      }),
    ]);
    const order = pumpOrder(implant, { pumpKind: 'implantable', label: 'E0782 Infusion pump, implantable, insulin' });
    const built = build([determination(root, { order })]);
    const card = built.response.cards[0]!;
    expect(crdCardType(card)).toBe('remove-order');
    expect(card.summary).toBe('Implantable insulin pump E0782: implantable insulin pumps are not covered by Medicare');
    expect(card.detail).toContain('**E0782 Infusion pump, implantable, insulin**');
    expect(card.suggestions).toEqual([
      {
        label: 'Remove the Implantable insulin pump E0782 order (not covered as ordered)',
        uuid: card.suggestions![0]!.uuid,
        actions: [
          {
            type: 'delete',
            description:
              'Remove E0782 Infusion pump, implantable, insulin: Insulin pump is external (implantable insulin pumps are not covered) (NCD 280.14 C.2.b)',
            resourceId: 'DeviceRequest/dr-9',
          },
        ],
      },
    ]);
    expect(sub(coverageExt(built.response.systemActions![0]!.resource), 'covered')).toEqual(['not-covered']);
  });

  it('supply pairing: delete + create of the right supply code (Propose Alternate Request)', () => {
    const supply = pumpResource('dr-s1', 'A4221', 'Supplies for maintenance of non-insulin drug infusion catheter, per week');
    const root = group('supplies', 'allOf', 'Pump supplies', [
      leaf('pairing', 'not-met', 'Supplies match the pump (A4224/A4225 with E0784)', {
        citation: 'A52507',
        reason: 'A4221 is for non-insulin pumps; with E0784 Medicare pays A4224/A4225',
        remedies: [
          { type: 'change-order-code', to: { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'A4224', display: 'Supplies for maintenance of insulin infusion catheter, per week' } },
          { type: 'remove-order' },
        ],
      }),
    ]);
    const order: InfusionOrder = { ...pumpOrder(supply), role: 'supply', pumpKind: undefined };
    const built = build([determination(root, { order })]);
    const card = built.response.cards[0]!;
    expect(crdCardType(card)).toBe('propose-alternate');
    expect(card.summary).toBe('Pump supplies A4221: A4221 is for non-insulin pumps; with E0784 Medicare pays A4224/A4225');
    const [del, create] = card.suggestions![0]!.actions!;
    expect(card.suggestions![0]!.label).toBe('Replace with A4224 Supplies for maintenance of insulin infusion catheter, per week');
    expect(del).toEqual({
      type: 'delete',
      description: 'Remove A4221 Supplies for maintenance of non-insulin drug infusion catheter, per week — not covered as ordered: Supplies match the pump (A4224/A4225 with E0784) (A52507)',
      resourceId: 'DeviceRequest/dr-s1',
    });
    const replacement = create!.resource as DeviceRequest;
    expect(create!.type).toBe('create');
    expect(replacement.id).toMatch(/^pumpcheck-[0-9a-f-]{36}$/);
    expect(replacement.codeCodeableConcept!.coding![1]).toEqual({
      system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
      code: 'A4224',
      display: 'Supplies for maintenance of insulin infusion catheter, per week',
    });
    const { id: _i, codeCodeableConcept: _c, ...rest } = replacement;
    const { id: _j, codeCodeableConcept: _d, ...restOriginal } = supply;
    expect(rest).toEqual(restOriginal);
  });
});

describe('no policy and failed evaluation', () => {
  it('no-policy: an info Instructions card, no system action, no reference card', () => {
    const det = determination(undefined, { policy: undefined, outcome: 'no-policy', coverageRef: 'Coverage/cov-9', message: 'payer not configured' });
    const built = build([det]);
    expect(built.response).toEqual({
      cards: [
        {
          uuid: uuid(1),
          summary: "No coverage policy configured for this patient's payer — pump order not checked",
          indicator: 'info',
          detail:
            `**${DR1_NAME}**\n\npumpcheck has no coverage policy configured for this patient's payer (payer not configured), so this pump order ` +
            "was not checked against coverage criteria. Check the payer's requirements directly before the order is sent.",
          source: { label: 'pumpcheck', topic: coverageTopic },
          extension: associated('DeviceRequest/dr-1'),
        },
      ],
    });
    expect(built.perOrder).toEqual([{ orderRef: 'DeviceRequest/dr-1', cards: [{ uuid: uuid(1), indicator: 'info', criteria: [], suggestionUuids: [] }] }]);
  });

  it('indeterminate: an info card that says why, plus a 2.0.1-safe assertion', () => {
    const det = determination(undefined, { outcome: 'indeterminate', message: 'The FHIR server did not answer within 1500 ms' });
    const built = build([det]);
    const card = built.response.cards[0]!;
    expect(card).toMatchObject({ indicator: 'info', summary: 'Insulin pump E0784: Medicare coverage check could not be completed' });
    expect(crdCardType(card)).toBe('instructions');
    expect(card.detail).toContain('The coverage check could not be completed: The FHIR server did not answer within 1500 ms.');
    const ext = coverageExt(built.response.systemActions![0]!.resource);
    expect(sub(ext, 'covered')).toEqual(['conditional']);
    expect(sub(ext, 'info-needed')).toEqual(['OTH']);
    const v22 = build([det], { crdVersion: '2.2' });
    expect(sub(coverageExt(v22.response.systemActions![0]!.resource), 'covered')).toEqual(['indeterminate']);
  });
});

describe('order-select', () => {
  const selected = () =>
    determination(csiiTree({ cpeptide: 'not-documented', education: 'not-documented' }), { order: pumpOrder(pumpResource(), { selected: true }) });
  const other = () =>
    determination(csiiTree({ cpeptide: 'not-met', antibody: 'not-met' }), { order: pumpOrder(pumpResource('dr-3'), { selected: false }) });

  it('one quiet info card per selected order, labs only, no clinical/admin doc-needed', () => {
    const built = build([selected(), other()], { hook: 'order-select' });
    expect(built.response.cards.map((c) => [c.indicator, crdCardType(c)])).toEqual([
      ['info', 'additional-orders'],
      ['info', 'external-reference'],
    ]);
    const card = built.response.cards[0]!;
    expect(card.summary).toBe('Insulin pump E0784: Medicare will need 2 items not yet on file (fasting C-peptide and diabetes education completed)');
    expect(card.overrideReasons).toBeUndefined();
    expect(card.detail).toContain('**What this order will need** under Medicare — NCD 280.14 / LCD L33794: fasting C-peptide and diabetes education completed not yet on file. The missing tests can be ordered now with the suggestions on this card.');
    expect(card.suggestions!.flatMap((s) => s.actions!.map((a) => a.type))).toEqual(['create', 'create', 'create']);
    expect(built.response.systemActions).toHaveLength(1);
    const ext = coverageExt(built.response.systemActions![0]!.resource);
    expect(sub(ext, 'doc-needed')).toEqual([]);
    expect(sub(ext, 'covered')).toEqual(['conditional']);
    expect(built.perOrder.map((o) => o.orderRef)).toEqual(['DeviceRequest/dr-1']);
  });

  it('lists what is on file when everything is met, and flags a contradicted criterion at info level', () => {
    const met = build([determination(csiiTree())], { hook: 'order-select' });
    expect(met.response.cards[0]!.summary).toBe('Insulin pump E0784: all 5 Medicare requirements already on file');
    expect(crdCardType(met.response.cards[0]!)).toBe('instructions');
    const unmet = build([{ ...other(), order: { ...other().order, selected: true } }], { hook: 'order-select' });
    expect(unmet.response.cards[0]!.indicator).toBe('info');
    expect(unmet.response.cards[0]!.summary).toBe('Insulin pump E0784: fasting C-peptide 188% of lower limit — insulinopenia not shown');
  });

  it('never offers order changes on order-select', () => {
    const wrong = determination(csiiTree({ pumpCode: 'not-met' }), { order: pumpOrder(pumpResource('dr-2', 'E0781', 'Ambulatory infusion pump')) });
    const built = build([wrong], { hook: 'order-select' });
    expect(built.response.cards.flatMap((c) => c.suggestions ?? [])).toEqual([]);
  });
});

describe('two orders on order-sign', () => {
  it('one card per order, a lab offered once, distinct assertion ids, one reference card for both', () => {
    const pump = determination(csiiTree({ cpeptide: 'not-documented' }));
    const supplyResource = pumpResource('dr-s2', 'A4224', 'Supplies for maintenance of insulin infusion catheter, per week');
    const supply = determination(csiiTree({ cpeptide: 'not-documented' }), {
      order: { ...pumpOrder(supplyResource), role: 'supply', pumpKind: undefined },
    });
    const built = build([pump, supply]);
    expect(built.response.cards.map((c) => [c.summary, crdCardType(c)])).toEqual([
      ['Insulin pump E0784: fasting C-peptide not documented — required by Medicare', 'additional-orders'],
      ['Insulin pump supplies A4224: fasting C-peptide not documented — required by Medicare', 'instructions'],
      ['Medicare NCD 280.14 / LCD L33794 — policy text and documentation form', 'external-reference'],
    ]);
    expect(built.response.cards[2]!.extension).toEqual(associated('DeviceRequest/dr-1', 'DeviceRequest/dr-s2'));
    expect(built.response.systemActions!.map((a) => `${a.resource!.resourceType}/${a.resource!.id}`)).toEqual(['DeviceRequest/dr-1', 'DeviceRequest/dr-s2']);
    expect(built.perOrder.map((o) => [o.orderRef, o.assertionId, o.cards.length])).toEqual([
      ['DeviceRequest/dr-1', 'pc-assert-1', 1],
      ['DeviceRequest/dr-s2', 'pc-assert-2', 1],
    ]);
  });

  it('an order without a Coverage gets its card but no system action', () => {
    const built = build([determination(csiiTree({ cpeptide: 'not-met', antibody: 'not-met' }), { coverageRef: undefined })]);
    expect(built.response.cards).toHaveLength(2);
    expect(built.response.systemActions).toBeUndefined();
    expect(built.perOrder[0]!.assertionId).toBeUndefined();
  });
});

describe('configuration', () => {
  const dets = () => [
    determination(csiiTree({ cpeptide: 'not-documented' })),
    determination(csiiTree({ cpeptide: 'not-met', antibody: 'not-met' }), { order: pumpOrder(pumpResource('dr-3')) }),
  ];

  it('coverage-info false: no coverage cards and no coverage system actions; guideline still answers', () => {
    const built = build(dets(), { configuration: { coverageInfo: false, guideline: true, maxCards: 10 } });
    expect(built.response.cards.map(crdCardType)).toEqual(['external-reference']);
    expect(built.response.systemActions).toBeUndefined();
    expect(built.perOrder).toEqual([
      { orderRef: 'DeviceRequest/dr-1', cards: [] },
      { orderRef: 'DeviceRequest/dr-3', cards: [] },
    ]);
    const none = build(dets(), { configuration: { coverageInfo: false, guideline: false, maxCards: 10 } });
    expect(none.response).toEqual({ cards: [] });
  });

  it('guideline false: no External Reference card', () => {
    const built = build(dets(), { configuration: { coverageInfo: true, guideline: false, maxCards: 10 } });
    expect(built.response.cards.map(crdCardType)).toEqual(['additional-orders', 'instructions']);
  });

  it('max-cards keeps warnings first and reference cards last', () => {
    const info = determination(csiiTree(), { order: pumpOrder(pumpResource('dr-4')) });
    const all = build([info, ...dets()], { infoWhenCovered: true });
    expect(all.response.cards.map((c) => c.indicator)).toEqual(['warning', 'warning', 'info', 'info']);
    expect(crdCardType(all.response.cards[3]!)).toBe('external-reference');
    const two = build([info, ...dets()], { infoWhenCovered: true, configuration: { coverageInfo: true, guideline: true, maxCards: 2 } });
    expect(two.response.cards.map((c) => c.summary)).toEqual(all.response.cards.slice(0, 2).map((c) => c.summary));
    expect(two.perOrder.map((o) => o.cards.length)).toEqual([0, 1, 1]);
    expect(two.response.systemActions).toHaveLength(3);
    expect(build(dets(), { configuration: { coverageInfo: true, guideline: true, maxCards: 0 } }).response.cards).toEqual([]);
  });
});

describe('robustness', () => {
  const long = (s: string) => `${s} ${'with an extremely verbose explanation 😀 '.repeat(12)}`;

  function longTree(): CriterionResult {
    const t = csiiTree({ cpeptide: 'not-met', antibody: 'not-documented', smbg: 'not-documented', pumpCode: 'not-met' });
    const stretch = (c: CriterionResult): CriterionResult => ({
      ...c,
      text: long(c.text),
      citation: long(c.citation),
      ...(c.reason ? { reason: long(c.reason) } : {}),
      ...(c.children ? { children: c.children.map(stretch) } : {}),
    });
    return stretch(t);
  }

  it('summaries stay ≤ 139 UTF-16 units with very long labels in every situation', () => {
    const longPolicy = { ...policy, sourceLabel: long('Medicare — NCD 280.14 / LCD L33794'), title: long('CSII'), payerLabel: long('Medicare') };
    const order = pumpOrder(pumpResource(), { label: long('E0784 External ambulatory infusion pump, insulin') });
    const variants: Determination[] = [
      determination(longTree(), { policy: longPolicy, order }),
      determination(csiiTree({ cpeptide: 'not-documented', education: 'not-documented', smbg: 'not-documented' }), { policy: longPolicy, order }),
      determination(csiiTree(), { policy: longPolicy, order }),
      determination(undefined, { policy: undefined, outcome: 'no-policy', order }),
      determination(undefined, { policy: longPolicy, outcome: 'indeterminate', message: long('timeout'), order }),
    ];
    for (const hook of ['order-sign', 'order-select'] as const) {
      for (const det of variants) {
        const built = build([det], { hook, infoWhenCovered: true, smartAppUrl: 'https://app.example.org/launch' });
        for (const card of built.response.cards) expect(card.summary.length).toBeLessThanOrEqual(139);
      }
    }
  });

  it('the determinations and draft orders are never mutated (deep-frozen inputs)', () => {
    const det = deepFreeze(determination(csiiTree({ pumpCode: 'not-met', cpeptide: 'not-documented' }), { order: pumpOrder(pumpResource('dr-2', 'E0781', 'Pump')) }));
    const snapshot = JSON.stringify(det);
    build([det], { crdVersion: '2.2' });
    expect(JSON.stringify(det)).toBe(snapshot);
  });

  it('uuids are unique across cards and suggestions of a busy response', () => {
    const built = build(
      [
        determination(csiiTree({ pumpCode: 'not-met', cpeptide: 'not-documented', hba1c: 'not-documented' }), { order: pumpOrder(pumpResource('dr-2', 'E0781', 'Pump')) }),
        determination(csiiTree({ cpeptide: 'not-documented' })),
      ],
      { smartAppUrl: 'https://app.example.org/launch' },
    );
    const ids = built.response.cards.flatMap((c) => [c.uuid, ...(c.suggestions ?? []).map((s) => s.uuid)]);
    expect(ids.length).toBeGreaterThan(6);
    expect(new Set(ids).size).toBe(ids.length);
    expect(OVERRIDE_REASONS.every((r) => (r.display ?? "").length > 0)).toBe(true);
  });

  it('accepts orders coded only with the bluebutton HCPCS system and emits the IG system in billingCode', () => {
    const built = build([determination(csiiTree())], { infoWhenCovered: true });
    const ext = coverageExt(built.response.systemActions![0]!.resource);
    expect(pumpOrder().codings.some((c) => c.system === BLUEBUTTON_HCPCS)).toBe(true);
    expect(sub(ext, 'billingCode')).toEqual([
      { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'E0784', display: 'External ambulatory infusion pump, insulin' },
    ]);
  });
});

describe('lead response schema (src/cds/schemas.ts)', () => {
  it.runIf(existsSync(new URL('../src/cds/schemas.ts', import.meta.url)))('is loaded and rejects what it should, so the checks above are real', () => {
    expect(schemaValidator).toBeTypeOf('function');
    const built = build([determination(csiiTree({ cpeptide: 'not-documented' }))]);
    const broken = structuredClone(built.response);
    broken.cards[0]!.summary = 'x'.repeat(140);
    delete broken.cards[0]!.selectionBehavior;
    expect(schemaValidator!(broken).length).toBeGreaterThanOrEqual(2);
  });
});

describe('implantable order sets (issue 10): one card per order set, the billing route on every card', () => {
  // A second primary order of the same set (e.g. the implant procedure of the pump): another draft order.
  const procedure = (id: string): InfusionOrder => pumpOrder(pumpResource(id, 'E0783', 'Infusion pump system, implantable, programmable'), { pumpKind: 'implantable' });
  const billed = { ...policy, billingNote: 'Implantable pumps are billed to the A/B MAC, not the DME MAC (CMS MLN)' };
  const tree = () => csiiTree({ team: 'not-documented' });

  it('two orders of one set with the same findings share one card; each keeps its coverage-information', () => {
    const dets = [determination(tree(), { policy: billed }), determination(tree(), { policy: billed, order: procedure('dr-2') })];
    const { response, perOrder } = build(dets);
    const finding = response.cards.filter((c) => c.source.topic?.code === 'coverage-info' && c.indicator === 'warning');
    expect(finding).toHaveLength(1);
    expect((finding[0]!.extension as Record<string, unknown>)['davinci-crd.associated-resource']).toEqual([{ reference: 'DeviceRequest/dr-1' }, { reference: 'DeviceRequest/dr-2' }]);
    expect(finding[0]!.detail).toContain('Also for **E0783');
    expect(finding[0]!.detail).toContain('**Billing:** Implantable pumps are billed to the A/B MAC, not the DME MAC (CMS MLN)');
    expect(perOrder.map((o) => o.cards.map((c) => c.uuid))).toEqual([[finding[0]!.uuid], [finding[0]!.uuid]]);
    expect(response.systemActions).toHaveLength(2);
  });

  it('different findings, or another order set, keep their own cards', () => {
    const other = determination(csiiTree({ team: 'not-documented', education: 'not-documented' }), { policy: billed, order: procedure('dr-2') });
    expect(build([determination(tree(), { policy: billed }), other]).response.cards.filter((c) => c.indicator === 'warning')).toHaveLength(2);
    const elsewhere = determination(tree(), { policy: billed, order: { ...procedure('dr-2'), groupKey: 'groupIdentifier:|other' } });
    expect(build([determination(tree(), { policy: billed }), elsewhere]).response.cards.filter((c) => c.indicator === 'warning')).toHaveLength(2);
  });
});
