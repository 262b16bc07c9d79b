// The order model (DESIGN §1 "recognise orders"): a draft order the service recognised as in scope — a pump, pump
// supplies, a pump drug, or an implant / refill procedure — with what it carries (the drug), where it is used (the
// setting), the pumps already on record and the order set it belongs to. Pure data.
import type { Coding, DeviceRequest, MedicationRequest, ServiceRequest, SupplyRequest } from 'fhir/r4';
import { HCPCS, RXNORM } from '../fhir/systems.js';

/** procedure = ServiceRequest (implant CPT 62350–62362, refill/management 62367–62370, 95990, 95991). */
export type OrderRole = 'pump' | 'supply' | 'drug' | 'procedure';

export type OrderResource = DeviceRequest | MedicationRequest | ServiceRequest | SupplyRequest;

export type PumpKind = 'external' | 'implantable';

/** What the pump / supply / procedure delivers, and where that was read. */
export interface DrugIdentification {
  /** not-applicable: an order that carries no drug (IV pole, batteries). */
  status: 'identified' | 'not-identified' | 'not-applicable';
  /** RxNorm ingredient RXCUIs (product codes mapped through policies/drug-products.json). */
  ingredients: string[];
  /** Ingredient ids of policies/drug-products.json (also for ingredients whose RXCUI is not verified). */
  names: string[];
  /** HCPCS J-codes when known. */
  hcpcs: string[];
  display?: string;
  /** companion: another draft order (basedOn, groupIdentifier, same order set); order: the order's own fields; record: an active MedicationRequest started within 30 days. */
  source?: 'companion' | 'order' | 'record';
  /** `Type/id` of the resource the drug was read from. */
  ref?: string;
  /** Route codes / texts as recorded (e.g. SNOMED 72607000 intrathecal), for policies that depend on the route. */
  route?: string[];
  /**
   * The draft MedicationRequest the drug was read from (the order itself, or its companion in the order set), as
   * received — never mutated; for criteria on the drug order's own elements (dispense quantity, supply duration).
   * Absent when the drug came from the record or from the pump order's own fields.
   */
  resource?: MedicationRequest;
  /** How it matched: 'rxnorm-ingredient' | 'rxnorm-product' | 'hcpcs' | 'name'. */
  matchedBy?: 'rxnorm-ingredient' | 'rxnorm-product' | 'hcpcs' | 'name';
}

export interface OrderSetting {
  value: 'home' | 'institutional' | 'unknown';
  source: 'encounter' | 'location' | 'crd-category' | 'none';
  /** What was read ("Encounter.class IMP", "Location.type SNF") or, when unknown, the assumption made. */
  detail?: string;
}

export interface PumpOnRecord {
  ref: string;
  hcpcs?: string;
  codings: Coding[];
  kind?: PumpKind;
}

export interface Companion {
  ref: string;
  role: OrderRole;
  hcpcs?: string;
  codings: Coding[];
  /** The draft order as received (never mutated): its line of the order set gets the set's coverage-information. */
  resource?: OrderResource;
}

/** Any draft order of an order set, recognised or not (e.g. an E/M visit ordered with a pump refill). */
export interface SetOrder {
  ref: string;
  type: string;
  codings: Coding[];
  /** ServiceRequest.orderDetail codings (e.g. a CPT modifier). */
  details: Coding[];
}

/** A draft order the service recognised as in scope (DESIGN's PumpOrder). */
export interface PumpOrder {
  /** `DeviceRequest/id`, `MedicationRequest/id`, `ServiceRequest/id` or `SupplyRequest/id`. */
  ref: string;
  /** The draft resource exactly as received (never mutated; fhirpath.js must not see it). */
  resource: OrderResource;
  role: OrderRole;
  /** Normalised HCPCS code (trimmed, upper case) when the order carries one. */
  hcpcs?: string;
  /** Normalised CPT code for ServiceRequests. */
  cpt?: string;
  /** Every well-formed coding on the order's code, as received. */
  codings: Coding[];
  /** external / implantable for pumps (from the HCPCS or SNOMED code). */
  pumpKind?: PumpKind;
  /** Human label of what was ordered, e.g. "E0784 External ambulatory infusion pump, insulin". */
  label: string;
  /** How card text names the order (catalogue `noun`), e.g. "pump refill procedure". */
  noun?: string;
  authoredOn?: string;
  requester?: string;
  /** `Coverage/id` references named by the order's `insurance`. */
  insurance: string[];
  /**
   * The recognised orders of the same order set, INCLUDING this one: one array shared by every order of the group
   * (so memory and time stay linear in the number of draft orders). Consumers skip `ref === order.ref`.
   */
  companions: readonly Companion[];
  /** Orders of one order set share it (basedOn / groupIdentifier / the same draftOrders). */
  groupKey: string;
  drug: DrugIdentification;
  setting: OrderSetting;
  /** Pumps on record (active Device, current DeviceUseStatement): one array shared by every order. */
  pumpsOnRecord: readonly PumpOnRecord[];
  /** Every draft order of the same set, recognised or not, including this one: one array shared by the set. */
  setOrders?: readonly SetOrder[];
  /** order-select: whether the clinician just selected this order (always true on order-sign). */
  selected: boolean;
}

/** The old name, kept for existing consumers. */
export type InfusionOrder = PumpOrder;

/** The companions of an order other than itself. */
export function otherCompanions(order: Pick<PumpOrder, 'ref' | 'companions'>): Companion[] {
  return order.companions.filter((c) => c.ref !== order.ref);
}

/**
 * The codings an identified drug is matched on (RxNorm ingredients, HCPCS J-codes), however it was identified (code,
 * Medication, or name in a text-only order). The one definition shared by policy selection (loader `orderInScope`)
 * and the `order` kind's drug check, so a drug that a policy's drug check recognises always selects that policy too.
 */
export function drugCodings(drug: Pick<DrugIdentification, 'status' | 'ingredients' | 'hcpcs'> | undefined): Coding[] {
  if (!drug || drug.status !== 'identified') return [];
  return [...drug.ingredients.map((code) => ({ system: RXNORM, code })), ...drug.hcpcs.map((code) => ({ system: HCPCS, code }))];
}
