// Suggestions that do the work: order a missing lab (create ServiceRequest), fix the order code (update), remove a
// non-covered order (delete, or delete + create of a replacement — CRD Propose Alternate Request).
import type { CodeableConcept, Coding as FhirCoding, DeviceRequest, MedicationRequest, ServiceRequest } from 'fhir/r4';
import type { Action, Suggestion } from '../src/cds/types.js';
import type { CriterionResult, Determination, InfusionOrder, Remedy } from '../src/policy/types.js';
import { HCPCS_SYSTEM } from './coverage-information.js';
import { canonicalSystem } from '../src/fhir/record.js';
import { orderName, orderShort, splitRef } from './text.js';

type OrderLab = Extract<Remedy, { type: 'order-lab' }>;
type ChangeCode = Extract<Remedy, { type: 'change-order-code' }>;

export interface SuggestionContext {
  newUuid: () => string;
  today: string;
  patientRef: string;
}

const LAB_CATEGORY: CodeableConcept = {
  coding: [{ system: 'http://snomed.info/sct', code: '108252007', display: 'Laboratory procedure' }],
};

export function labKey(remedy: OrderLab): string {
  return remedy.code.map((c) => `${canonicalSystem(c.system)}|${c.code}`).sort().join(',');
}

/** A draft lab order a CRD client can create as-is (CRD profile-servicerequest: status, intent, code, subject, authoredOn, requester). */
export function labServiceRequest(remedy: OrderLab, order: InfusionOrder, ctx: SuggestionContext): ServiceRequest {
  const sr: ServiceRequest = {
    resourceType: 'ServiceRequest',
    id: `pumpcheck-${ctx.newUuid()}`,
    status: 'draft',
    intent: 'original-order',
    category: [structuredClone(LAB_CATEGORY)],
    code: { coding: remedy.code.map((c) => ({ system: c.system, code: c.code, display: c.display })), text: remedy.label },
    subject: { reference: ctx.patientRef },
    authoredOn: ctx.today,
  };
  const encounter = (order.resource as DeviceRequest | MedicationRequest).encounter?.reference;
  if (encounter) sr.encounter = { reference: encounter };
  if (order.requester) sr.requester = { reference: order.requester };
  return sr;
}

/**
 * One suggestion per undocumented leaf with lab remedies (labs that must be drawn together, like C-peptide with a
 * fasting glucose, stay in one suggestion). `offered` de-duplicates labs across the whole response.
 */
export function labSuggestions(
  det: Determination,
  ctx: SuggestionContext,
  offered: Set<string>,
): { suggestion: Suggestion; criteria: string[] }[] {
  const out: { suggestion: Suggestion; criteria: string[] }[] = [];
  // Labs for what is missing, and for results a new test could change (an invalid C-peptide).
  // A not-covered order: nothing undocumented can change that (the root is not met), so no lab is offered for it — only
  // a repeat of a result that itself decided the outcome and a new test could change.
  const undocumented = det.outcome === 'not-covered' ? [] : det.undocumented;
  for (const leaf of [...undocumented, ...det.unmet.filter((l) => l.retest)]) {
    const labs = (leaf.remedies ?? []).filter((r): r is OrderLab => r.type === 'order-lab' && r.code.length > 0);
    const fresh = labs.filter((r) => !offered.has(labKey(r)));
    if (fresh.length === 0) continue;
    for (const r of fresh) offered.add(labKey(r));
    const label = `${leaf.retest ? 'Repeat' : 'Order'} ${fresh.map((r) => r.label).join(' + ')}`;
    const suggestion: Suggestion = {
      label: label.length > 120 ? `${label.slice(0, 119)}…` : label,
      uuid: ctx.newUuid(),
      actions: fresh.map((r) => ({
        type: 'create' as const,
        description: `Add a draft lab order for ${r.label} (${leaf.citation})`,
        resource: labServiceRequest(r, det.order, ctx),
      })),
    };
    if (!isAlternative(det.root, leaf)) suggestion.isRecommended = true;
    out.push({ suggestion, criteria: [leaf.id] });
  }
  return out;
}

/**
 * Whether `leaf` is one of several undocumented ways to satisfy an anyOf (C-peptide OR autoantibodies): then no
 * single test is "the" recommended one.
 */
function isAlternative(root: CriterionResult | undefined, leaf: CriterionResult): boolean {
  if (!root) return false;
  const path: CriterionResult[] = [];
  const find = (node: CriterionResult): boolean => {
    path.push(node);
    if (node === leaf || (node.id === leaf.id && node.op === 'leaf')) return true;
    for (const child of node.children ?? []) if (find(child)) return true;
    path.pop();
    return false;
  };
  if (!find(root)) return false;
  for (let i = 0; i < path.length - 1; i++) {
    const node = path[i]!;
    if (node.op !== 'anyOf') continue;
    const onPath = path[i + 1];
    if ((node.children ?? []).some((c) => c !== onPath && c.status === 'not-documented')) return true;
  }
  return false;
}

function codeElement(resource: InfusionOrder['resource']): 'codeCodeableConcept' | 'medicationCodeableConcept' | 'code' | 'itemCodeableConcept' {
  switch (resource.resourceType) {
    case 'DeviceRequest':
      return 'codeCodeableConcept';
    case 'MedicationRequest':
      return 'medicationCodeableConcept';
    case 'ServiceRequest':
      return 'code';
    default:
      return 'itemCodeableConcept';
  }
}

const HCPCS_SYSTEMS = new Set([canonicalSystem(HCPCS_SYSTEM)]);

/** The draft order deep-cloned with only its code changed (the HCPCS coding replaced, other codings kept). */
export function withOrderCode<T extends InfusionOrder['resource']>(resource: T, order: InfusionOrder, to: ChangeCode['to']): T {
  const clone = structuredClone(resource);
  const element = codeElement(clone);
  const target: FhirCoding = { system: to.system, code: to.code, display: to.display };
  const current = (clone as unknown as Record<string, unknown>)[element] as CodeableConcept | undefined;
  const isOld = (c: FhirCoding): boolean =>
    HCPCS_SYSTEMS.has(canonicalSystem(c.system)) || (order.hcpcs !== undefined && c.code?.trim().toUpperCase() === order.hcpcs);
  let concept: CodeableConcept;
  if (current?.coding?.some(isOld)) {
    const at = current.coding.findIndex(isOld);
    const rest = current.coding.filter((c) => !isOld(c));
    rest.splice(at, 0, target);
    concept = { ...current, coding: rest };
    // Text naming the old code would now contradict the coding.
    if (concept.text !== undefined) concept.text = `${to.code} ${to.display}`;
  } else {
    concept = { coding: [target], text: `${to.code} ${to.display}` };
  }
  const record = clone as unknown as Record<string, unknown>;
  record[element] = concept;
  if (element === 'codeCodeableConcept') delete record.codeReference;
  else delete record.medicationReference;
  return clone;
}

/** Order-fixing suggestions (CRD Propose Alternate Request) for the determination's unmet leaves. */
export function orderFixSuggestions(det: Determination, ctx: SuggestionContext): { suggestion: Suggestion; criteria: string[] }[] {
  const out: { suggestion: Suggestion; criteria: string[] }[] = [];
  const order = det.order;
  const name = orderName(order);
  const [type, id] = splitRef(order.ref);
  let changed = false;
  let removed = false;
  for (const leaf of det.unmet) {
    const remedies = leaf.remedies ?? [];
    const change = remedies.find((r): r is ChangeCode => r.type === 'change-order-code');
    const remove = remedies.some((r) => r.type === 'remove-order');
    const why = `${leaf.text} (${leaf.citation})`;
    if (change && remove && !removed && !changed) {
      // The leaf wants this order gone and names what replaces it: delete + create (crd-respar-1).
      const replacement = withOrderCode(order.resource, order, change.to);
      replacement.id = `pumpcheck-${ctx.newUuid()}`;
      const actions: Action[] = [
        { type: 'delete', description: `Remove ${name} — not covered as ordered: ${why}`, resourceId: order.ref },
        { type: 'create', description: `Add a draft ${type} for ${change.to.code} ${change.to.display} in its place`, resource: replacement },
      ];
      out.push({
        suggestion: { label: `Replace with ${change.to.code} ${change.to.display}`, uuid: ctx.newUuid(), isRecommended: true, actions },
        criteria: [leaf.id],
      });
      removed = changed = true;
    } else if (change && !changed) {
      out.push({
        suggestion: {
          label: `Change the order code to ${change.to.code} (${change.to.display})`,
          uuid: ctx.newUuid(),
          isRecommended: true,
          actions: [
            {
              type: 'update',
              description: `Change ${type} ${id} from ${order.hcpcs ?? 'its current code'} to ${change.to.code} ${change.to.display} (${leaf.citation})`,
              resource: withOrderCode(order.resource, order, change.to),
            },
          ],
        },
        criteria: [leaf.id],
      });
      changed = true;
    } else if (remove && !removed) {
      out.push({
        suggestion: {
          label: `Remove the ${orderShort(order)} order (not covered as ordered)`,
          uuid: ctx.newUuid(),
          actions: [{ type: 'delete', description: `Remove ${name}: ${why}`, resourceId: order.ref }],
        },
        criteria: [leaf.id],
      });
      removed = true;
    }
  }
  return out;
}
