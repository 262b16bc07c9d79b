// The Da Vinci CRD coverage-information extension and its `update` system action (SPEC-DIGEST §2.9).
// The updated resource is the full draft order with only this extension added or replaced (CRD resp-37).
import type { Extension } from 'fhir/r4';
import type { Action, HookName } from '../src/cds/types.js';
import type { Determination } from '../src/policy/types.js';
import { criteriaWithCitations, splitRef } from './text.js';

export const COVERAGE_INFORMATION_URL = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';
/** The IG's HCPCS URI (SPEC-DIGEST §5 item 14: accept all spellings, emit this one). */
/** Emitted in billingCode: the CRD IG's HCPCS URI. */
export { HCPCS_CRD as HCPCS_SYSTEM } from '../src/fhir/systems.js';
import { HCPCS_CRD as HCPCS_SYSTEM } from '../src/fhir/systems.js';
/** coverageAssertionReasons and the legacy coverage-detail codes live in the CRD temp code system. */
export const CRD_TEMP_SYSTEM = 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp';

export interface CoverageInfoOptions {
  hook: HookName;
  crdVersion: '2.0.1' | '2.2';
  assertNoAuth: boolean;
  questionnaireUrl: (id: string) => string;
  today: string;
  assertionId: string;
}

type Covered = 'covered' | 'not-covered' | 'conditional' | 'indeterminate';

/** Build the extension for one determination, or undefined when CRD does not allow one (no Coverage, no policy). */
export function buildCoverageInformation(det: Determination, opts: CoverageInfoOptions): Extension | undefined {
  if (!det.coverageRef || !det.policy) return undefined;
  if (det.outcome === 'no-policy') return undefined;
  const sub: Extension[] = [];
  const add = (url: string, value: Omit<Extension, 'url'>): void => {
    sub.push({ url, ...value });
  };
  const sign = opts.hook === 'order-sign';
  const section = det.policy.sourceLabel;

  let covered: Covered;
  let reasonText: string | undefined;
  let reasonCoding: { system: string; code: string; display: string } | undefined;
  let docNeeded: string | undefined;
  const docPurpose: string[] = [];
  const infoNeeded: string[] = [];
  let paNeeded: string | undefined;

  switch (det.outcome) {
    case 'covered':
      covered = 'covered';
      // What the payer's documents say (policy or payer × policy crd); "no-auth" where they say nothing only when the
      // deployment configures it (CRD_ASSERT_NO_AUTH).
      paNeeded = det.crd?.paNeeded ?? (opts.assertNoAuth ? 'no-auth' : undefined);
      break;
    case 'not-covered': {
      covered = 'not-covered';
      const unmet = criteriaWithCitations(det.unmet);
      reasonText = unmet
        ? `${section}: criteria not met: ${unmet}`
        : `${section}: not covered as ordered${det.message ? ` (${det.message})` : ''}`;
      if (det.undocumented.length > 0) reasonText += `; also not documented: ${criteriaWithCitations(det.undocumented)}`;
      break;
    }
    case 'conditional': {
      covered = 'conditional';
      // crd-ci-q3: conditional ⇒ info-needed. None of performer/location/timeframe fits "documentation the record
      // lacks", so OTH, which crd-ci-q6 pairs with a reason naming what is missing.
      infoNeeded.push('OTH');
      const missing = criteriaWithCitations(det.undocumented);
      reasonText = `${section}: not documented in the record: ${missing || det.message || 'criteria could not be confirmed'}`;
      // Alternatives the record contradicts (e.g. a glucose log averaging 2/day while CGM use is undocumented): the
      // EHR and a reviewer need both halves to see why documentation is what is missing.
      if (det.unmet.length > 0) reasonText += `; not met: ${criteriaWithCitations(det.unmet)}`;
      // From the policy (e.g. Medicare: clinical documentation kept in the record, retain-doc, §2.9 table); hook-19
      // forbids clinical/admin doc-needed on order-select, hence sign only.
      if (sign && det.crd?.docNeeded) {
        docNeeded = det.crd.docNeeded;
        docPurpose.push(...(det.crd.docPurpose ?? []));
      }
      break;
    }
    case 'indeterminate':
    default: {
      const why = det.message ?? 'the coverage check could not be completed';
      if (opts.crdVersion === '2.2') {
        covered = 'indeterminate';
        reasonCoding = { system: CRD_TEMP_SYSTEM, code: 'technical', display: 'Technical issue' };
      } else {
        // 2.0.1 has no indeterminate: conditional + info-needed OTH + reason (SPEC-DIGEST §2.9 table).
        covered = 'conditional';
        infoNeeded.push('OTH');
      }
      reasonText = `${section}: coverage could not be evaluated: ${why}`;
      break;
    }
  }
  // Where the claim goes (policy billingNote, e.g. the A/B MAC for implantable pumps), on every outcome.
  const billing = det.policies?.find((p) => p.billingNote)?.billingNote ?? det.policy.billingNote;
  if (billing) reasonText = reasonText ? `${reasonText}. ${billing}` : `${section}: ${billing}`;
  // crd-ci-q2: never pa-needed on a not-covered assertion.
  if (covered === 'not-covered') paNeeded = undefined;

  add('coverage', { valueReference: { reference: det.coverageRef } });
  add('covered', { valueCode: covered });
  if (paNeeded) add('pa-needed', { valueCode: paNeeded });
  if (docNeeded) add('doc-needed', { valueCode: docNeeded });
  for (const p of docPurpose) add('doc-purpose', { valueCode: p });
  for (const i of infoNeeded) add('info-needed', { valueCode: i });
  if (det.order.hcpcs) {
    const display = det.order.codings.find((c) => c.code?.trim().toUpperCase() === det.order.hcpcs)?.display;
    add('billingCode', {
      valueCoding: { system: HCPCS_SYSTEM, code: det.order.hcpcs, ...(display ? { display } : {}) },
    });
  }
  if (reasonText || reasonCoding) {
    add('reason', {
      valueCodeableConcept: { ...(reasonCoding ? { coding: [reasonCoding] } : {}), ...(reasonText ? { text: reasonText } : {}) },
    });
  }
  if (opts.crdVersion === '2.2') {
    // 2.2 only: detail.category does not exist in 2.0.1 and policy-link is not in its code system.
    for (const link of det.policy.links) {
      if (!/^https?:\/\//.test(link.url)) continue;
      sub.push({
        url: 'detail',
        extension: [
          { url: 'category', valueCode: 'cat-other' },
          { url: 'code', valueCodeableConcept: { coding: [{ system: CRD_TEMP_SYSTEM, code: 'policy-link' }], text: link.label } },
          { url: 'value', valueUrl: link.url },
        ],
      });
    }
  }
  // crd-ci-q1: a questionnaire only together with doc-needed.
  if (docNeeded && det.policy.questionnaireId) {
    add('questionnaire', { valueCanonical: opts.questionnaireUrl(det.policy.questionnaireId) });
  }
  add('date', { valueDate: opts.today });
  add('coverage-assertion-id', { valueString: opts.assertionId });
  return { url: COVERAGE_INFORMATION_URL, extension: sub };
}

function coverageOf(ext: Extension): string | undefined {
  return ext.extension?.find((e) => e.url === 'coverage')?.valueReference?.reference;
}

/**
 * Deep clone of `resource` with `ext` in place of any coverage-information extension about the same Coverage
 * (an older assertion from us: two ids for one Coverage would break CRD resp-32), every other extension kept.
 */
export function withCoverageInformation<T extends { extension?: Extension[] }>(resource: T, ext: Extension): T {
  const clone = structuredClone(resource) as T;
  const coverage = coverageOf(ext);
  const existing = clone.extension ?? [];
  const isReplaced = (e: Extension): boolean => e.url === COVERAGE_INFORMATION_URL && coverageOf(e) === coverage;
  const at = existing.findIndex(isReplaced);
  const kept = existing.filter((e) => !isReplaced(e));
  if (at < 0) kept.push(ext);
  // Everything before the first replaced extension is kept, so `at` is also its index in `kept`.
  else kept.splice(at, 0, ext);
  clone.extension = kept;
  return clone;
}

const COVERED_WORDS: Record<string, string> = {
  covered: 'criteria met',
  'not-covered': 'not covered as ordered',
  conditional: 'documentation needed',
  indeterminate: 'could not be evaluated',
};

/** The `update` system action for one determination, or undefined when no coverage-information can be sent. */
export function coverageSystemAction(det: Determination, opts: CoverageInfoOptions): Action | undefined {
  const ext = buildCoverageInformation(det, opts);
  if (!ext || !det.policy) return undefined;
  const covered = ext.extension?.find((e) => e.url === 'covered')?.valueCode ?? '';
  const [type, id] = splitRef(det.order.ref);
  const code = det.order.hcpcs ? ` (${det.order.hcpcs})` : '';
  const words = det.outcome === 'indeterminate' ? COVERED_WORDS.indeterminate : COVERED_WORDS[covered] ?? covered;
  return {
    type: 'update',
    description: `Record ${det.policy.payerLabel} coverage information (${words}) on ${type} ${id}${code}`,
    resource: withCoverageInformation(det.order.resource, ext),
  };
}

/** A line of an order set that carries its pump's determination (see `companionLines`). */
export interface CompanionLine {
  orderRef: string;
  /** The pump order whose determination the line carries. */
  determinationRef: string;
  assertionId: string;
  action: Action;
}

/**
 * The drug and supply lines of a pump's order set that have no determination of their own (`ownDeterminations`) and
 * no update yet (`done`, shared across the response): a drug or supply ordered with a pump is covered as that pump's
 * supply (NCD 280.14 B.1 NOTE; A52507), so each line carries the pump's outcome, reason and questionnaire in its own
 * coverage-information — with its own billing code (the drug's J-code, the supply's code, none when uncoded) and its
 * own assertion id (CRD: one assertion per coverage-information).
 */
export function companionLines(
  det: Determination,
  opts: Omit<CoverageInfoOptions, 'assertionId'>,
  newAssertionId: () => string,
  ownDeterminations: ReadonlySet<string>,
  done: Set<string>,
): CompanionLine[] {
  if (det.order.role !== 'pump' || !det.policy) return [];
  const out: CompanionLine[] = [];
  const [type, id] = splitRef(det.order.ref);
  for (const c of det.order.companions) {
    if (c.ref === det.order.ref || !c.resource || (c.role !== 'drug' && c.role !== 'supply')) continue;
    if (ownDeterminations.has(c.ref) || done.has(c.ref)) continue;
    const line: Determination = { ...det, order: { ...det.order, ref: c.ref, role: c.role, resource: c.resource, codings: c.codings, ...(c.hcpcs ? { hcpcs: c.hcpcs } : { hcpcs: undefined }) } };
    const assertionId = newAssertionId();
    const ext = buildCoverageInformation(line, { ...opts, assertionId });
    if (!ext) continue;
    done.add(c.ref);
    const covered = ext.extension?.find((e) => e.url === 'covered')?.valueCode ?? '';
    const words = det.outcome === 'indeterminate' ? COVERED_WORDS.indeterminate : COVERED_WORDS[covered] ?? covered;
    const [ct, cid] = splitRef(c.ref);
    out.push({
      orderRef: c.ref,
      determinationRef: det.order.ref,
      assertionId,
      action: {
        type: 'update',
        description: `Record ${det.policy.payerLabel} coverage information (${words}) on ${ct} ${cid}${c.hcpcs ? ` (${c.hcpcs})` : ''}, ordered with ${type} ${id}${det.order.hcpcs ? ` (${det.order.hcpcs})` : ''}`,
        resource: withCoverageInformation(c.resource, ext),
      },
    });
  }
  return out;
}
