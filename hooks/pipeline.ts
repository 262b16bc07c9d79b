// The path every order hook takes: recognise in-scope orders → gather the record → evaluate each order → cards and
// coverage-information → remember the assertion. Shared by order-sign and order-select; they differ only in which
// orders they look at and how loudly the cards speak (decided in cards/).
import { randomUUID } from 'node:crypto';
import type { Bundle, Encounter, PractitionerRole } from 'fhir/r4';
import { buildHookResponse } from '../cards/build.js';
import type { CdsResponse, HookName, OrderContext } from '../src/cds/types.js';
import type { Config, CrdVersion } from '../src/config.js';
import { gatherRecord } from '../src/fhir/gather.js';
import type { PrefetchTemplate } from '../src/fhir/prefetch.js';
import { badRequest } from '../src/http/errors.js';
import { determine } from '../src/policy/engine.js';
import { orderInScope, type PolicySet } from '../src/policy/loader.js';
import { type OrderCatalogue, recogniseOrders } from '../src/orders/index.js';
import type { Determination, InfusionOrder } from '../src/policy/types.js';
import { patientHash, practitionerHash } from '../src/store/hash.js';
import type { AssertionRecord, AssertionSink } from '../src/store/types.js';
import type { PatientRecord } from '../src/fhir/record.js';
import type { HookCall } from './types.js';

export interface PipelineDeps {
  config: Config;
  policySet: PolicySet;
  catalogue: OrderCatalogue;
  prefetchTemplates: PrefetchTemplate[];
  assertionSink: AssertionSink;
  /** Injected in tests; defaults to global fetch. */
  fetch?: typeof fetch;
  newUuid?: () => string;
  /** Observer (metrics); must not throw. */
  observer?: PipelineObserver;
}

export interface PipelineObserver {
  determinations(serviceId: string, determinations: Determination[]): void;
  fhirQuery(key: string, outcome: 'ok' | 'error', seconds: number, kind?: string): void;
  cards(serviceId: string, response: CdsResponse): void;
}

/** The CRD configuration a client may send in `extension['davinci-crd.configuration']` (dev-14..17). */
export interface HookConfiguration {
  coverageInfo: boolean;
  guideline: boolean;
  maxCards: number;
}

export const CONFIGURATION_OPTIONS = [
  {
    code: 'coverage-info',
    type: 'boolean',
    name: 'Coverage information',
    description: 'Check pump orders against payer coverage criteria: decisive cards and the coverage-information system action.',
    default: true,
  },
  {
    code: 'guideline',
    type: 'boolean',
    name: 'Policy references',
    description: 'Show a reference card linking the NCD/LCD/policy article and the documentation questionnaire.',
    default: true,
  },
  {
    code: 'max-cards',
    type: 'integer',
    name: 'Maximum cards',
    description: 'Maximum number of cards returned; the most important are kept.',
    default: 10,
  },
] as const;

/** Unknown options and options of the wrong type are ignored (dev-17, dev-6), never an error. */
export function readConfiguration(extension: Record<string, unknown> | undefined): HookConfiguration {
  const raw = extension?.['davinci-crd.configuration'];
  const cfg = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const bool = (v: unknown, d: boolean) => (typeof v === 'boolean' ? v : d);
  const maxCards = cfg['max-cards'];
  return {
    coverageInfo: bool(cfg['coverage-info'], true),
    guideline: bool(cfg['guideline'], true),
    maxCards: typeof maxCards === 'number' && Number.isInteger(maxCards) && maxCards >= 0 ? maxCards : 10,
  };
}

/** CRD version for this response: the client's `davinci-crd.requestedVersion` if we speak it, else the default. */
export function responseCrdVersion(extension: Record<string, unknown> | undefined, fallback: CrdVersion): CrdVersion {
  const requested = extension?.['davinci-crd.requestedVersion'];
  if (requested === '2.2' || requested === '2.1') return '2.2';
  if (requested === '2.0' || requested === '2.0.1') return '2.0.1';
  return fallback;
}

/** order-select: each selection must name an entry of draftOrders (hook library). */
function checkSelections(context: OrderContext): void {
  const refs = new Set((context.draftOrders.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
  (context.selections ?? []).forEach((sel, i) => {
    if (!refs.has(sel)) throw badRequest(`selections[${i}] "${sel}" does not name an entry of draftOrders`, [`context.selections[${i}]`]);
  });
}

export async function runOrderHook(hook: HookName, serviceId: string, call: HookCall, deps: PipelineDeps): Promise<CdsResponse> {
  const { request, logger, requestTime } = call;
  const context = request.context as unknown as OrderContext;
  if (hook === 'order-select') checkSelections(context);

  const bundle = context.draftOrders as Bundle;
  const selections = hook === 'order-select' ? context.selections : undefined;
  // A first, record-free pass decides whether anything is in scope (and so whether the record is read at all).
  const orders = recogniseOrders(bundle, deps.catalogue, { selections, encounterId: context.encounterId, requestTime });
  let inScope = ordersToEvaluate(orders, deps.policySet);
  const counts = {
    draftOrders: bundle.entry?.length ?? 0,
    pumpOrders: orders.filter((o) => o.role === 'pump').length,
    evaluatedOrders: inScope.length,
  };
  if (inScope.length === 0) {
    logger.info(counts, 'no infusion-pump order to check');
    return { cards: [] };
  }

  const gathered = await gatherRecord({
    request,
    patientId: context.patientId,
    templates: deps.prefetchTemplates,
    fhir: deps.config.fhir,
    logger,
    fetch: deps.fetch,
    requestTime: requestTime.getTime(),
    onQuery: deps.observer ? (...args) => deps.observer!.fhirQuery(...args) : undefined,
  });
  logger.debug({ sources: gathered.sources, resources: gathered.record.size, fetchMs: gathered.fetchMs }, 'record gathered');
  // With the record: the drug on record, the setting from the encounter, the pumps on record.
  inScope = ordersToEvaluate(
    recogniseOrders(bundle, deps.catalogue, { selections, record: gathered.record, encounterId: context.encounterId, requestTime }),
    deps.policySet,
  );
  if (gathered.gaps.length > 0) logger.warn({ gaps: gathered.gaps.map((g) => g.key) }, 'parts of the record could not be read');

  // h13: one order at a time, yielding to the event loop between orders, so a large order set (up to MAX_DRAFT_ORDERS)
  // never holds /healthz or other requests for long.
  const determinations: Determination[] = [];
  for (const order of inScope) {
    determinations.push(...evaluateOrder(order, gathered.record, deps.policySet, requestTime, logger));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  deps.observer?.determinations(serviceId, determinations);

  const newUuid = deps.newUuid ?? randomUUID;
  const configuration = readConfiguration(request.extension);
  const crdVersion = responseCrdVersion(request.extension, deps.config.crd.version);
  const built = buildHookResponse(determinations, {
    hook,
    crdVersion,
    topicSystem: deps.config.crd.topicSystems[crdVersion],
    findingIndicator: deps.config.cards.findingIndicator,
    infoWhenCovered: deps.config.cards.infoWhenCovered,
    assertNoAuth: deps.config.crd.assertNoAuth,
    // The canonical url (coverage-information, QuestionnaireResponse.questionnaire); people open the form page.
    questionnaireUrl: (id) => deps.policySet.questionnaires.get(id)?.url ?? `${call.baseUrl}/fhir/Questionnaire/${encodeURIComponent(id)}`,
    formUrl: (id) => `${call.baseUrl}/forms/${encodeURIComponent(id)}`,
    smartAppUrl: deps.config.cards.smartAppUrl,
    configuration,
    newUuid,
    newAssertionId: newUuid,
    today: requestTime.toISOString().slice(0, 10),
    patientRef: `Patient/${context.patientId}`,
  });

  const hash = patientHash(deps.config.store.patientHashSecret, context.patientId);
  const shared = sharedCards(built.response, built.perOrder);
  for (const item of built.perOrder) {
    if (!item.assertionId) continue;
    const determination = determinations.find((d) => d.order.ref === (item.determinationRef ?? item.orderRef));
    const practitioner = determination?.order.requester ?? context.userId;
    const site = siteOf(gathered.record, context, determination?.order.requester);
    deps.assertionSink.record({
      id: item.assertionId,
      createdAt: requestTime.toISOString(),
      serviceId,
      hook,
      hookInstance: request.hookInstance,
      orderRef: item.orderRef,
      pumpCode: determination?.order.hcpcs,
      policyId: determination?.policy?.id,
      policyVersion: determination?.policy?.version,
      ...(determination?.policies ? { policies: determination.policies.map((p) => ({ id: p.id, version: p.version })) } : {}),
      ...(determination?.parameters ? { parameters: determination.parameters } : {}),
      outcome: determination?.outcome ?? 'indeterminate',
      unmetCriteria: determination?.unmet.map((c) => c.id) ?? [],
      undocumentedCriteria: determination?.undocumented.map((c) => c.id) ?? [],
      cards: [...item.cards.map((c) => ({ ...c, kind: 'finding' as const })), ...(shared.get(item.orderRef) ?? [])],
      patientHash: hash,
      ...(practitioner ? { practitionerHash: practitionerHash(deps.config.store.patientHashSecret, practitioner) } : {}),
      ...(site ? { site } : {}),
    });
  }
  deps.observer?.cards(serviceId, built.response);
  logger.info(
    {
      ...counts,
      resources: gathered.record.size,
      fetchMs: gathered.fetchMs,
      outcomes: determinations.map((d) => ({
        order: d.order.ref,
        role: d.order.role,
        drug: d.order.drug.status,
        ...(d.order.drug.source ? { drugSource: d.order.drug.source } : {}),
        setting: d.order.setting.value,
        settingSource: d.order.setting.source,
        policies: d.policies?.map((p) => p.id) ?? [],
        outcome: d.outcome,
      })),
      cards: built.response.cards.length,
      systemActions: built.response.systemActions?.length ?? 0,
    },
    'hook evaluated',
  );
  return built.response;
}

type StoredCard = AssertionRecord['cards'][number];

/**
 * Cards shared by several orders (the policy reference card, the SMART documentation-app card) are not any one
 * order's finding, but a clinician's response to them is still feedback about that assertion: record each against
 * every order it names (`davinci-crd.associated-resource`), marked by kind so analytics keep them apart.
 */
function sharedCards(response: CdsResponse, perOrder: { orderRef: string; cards: { uuid: string }[] }[]): Map<string, StoredCard[]> {
  const own = new Set(perOrder.flatMap((o) => o.cards.map((c) => c.uuid)));
  const out = new Map<string, StoredCard[]>();
  for (const card of response.cards) {
    if (!card.uuid || own.has(card.uuid)) continue;
    const refs = ((card as { extension?: Record<string, unknown> }).extension?.['davinci-crd.associated-resource'] ?? []) as { reference?: string }[];
    const kind: StoredCard['kind'] = (card.links ?? []).some((l) => l.type === 'smart') ? 'smart' : 'reference';
    for (const ref of refs) {
      if (!ref.reference) continue;
      const list = out.get(ref.reference) ?? [];
      list.push({ uuid: card.uuid, indicator: card.indicator, criteria: [], suggestionUuids: (card.suggestions ?? []).map((sg) => sg.uuid!).filter(Boolean), kind });
      out.set(ref.reference, list);
    }
  }
  return out;
}

/**
 * The ordering site for analytics: the encounter's service provider, else the ordering PractitionerRole's organization,
 * when those resources are in the record. Organizations are not patient data; stored as their reference.
 */
function siteOf(record: PatientRecord, context: OrderContext, requester: string | undefined): string | undefined {
  const encounter = context.encounterId ? record.resolve<Encounter>(`Encounter/${context.encounterId}`) : undefined;
  const provider = encounter?.serviceProvider?.reference;
  if (provider) return provider;
  const roleRef = [requester, context.userId].find((r) => r?.startsWith('PractitionerRole/'));
  return record.resolve<PractitionerRole>(roleRef)?.organization?.reference ?? undefined;
}

/**
 * The orders that get a determination of their own. Every pump. A supply or drug only when no pump is ordered with
 * it (a refill, continued coverage) and some policy covers it: drugs and supplies ordered with a pump are covered as
 * supplies of a covered pump (NCD 280.14 B.1 NOTE; A52507), and whether they suit the pump is one of the pump's
 * criteria — a separate card for each would repeat the pump's. On order-select, a pump counts as selected when the
 * clinician selected it or one of its companions.
 */
export function ordersToEvaluate(orders: InfusionOrder[], policySet: PolicySet): InfusionOrder[] {
  // Procedures (implant, refill) are primary orders like pumps: they get a determination of their own.
  const pumps = orders.filter((o) => o.role === 'pump' || o.role === 'procedure');
  if (pumps.length > 0) {
    // Linear: an order set counts as selected when any of its orders is.
    const selectedGroups = new Set(orders.filter((o) => o.selected).map((o) => o.groupKey));
    return pumps.filter((p) => p.selected || selectedGroups.has(p.groupKey));
  }
  return orders.filter((o) => o.selected && policySet.policies.some((p) => orderInScope(p, o, policySet.valueSets)));
}

/** A technical failure while evaluating one order is that order's outcome, not an HTTP error (DESIGN §3). */
function evaluateOrder(
  order: InfusionOrder,
  record: Parameters<typeof determine>[1],
  policySet: PolicySet,
  requestTime: Date,
  logger: HookCall['logger'],
): Determination[] {
  try {
    return determine(order, record, policySet, { requestTime });
  } catch (err) {
    logger.error({ order: order.ref, err: { name: (err as Error).name, message: (err as Error).message } }, 'evaluation failed');
    return [
      {
        order,
        outcome: 'indeterminate',
        unmet: [],
        undocumented: [],
        asOf: (order.authoredOn ?? requestTime.toISOString()).slice(0, 10),
        message: 'The coverage check could not be completed because of an internal error.',
      },
    ];
  }
}
