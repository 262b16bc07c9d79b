// Shape checks every built response must pass in the card tests (CDS Hooks 2.0 + CRD response types + coverage-info).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Extension } from 'fhir/r4';
import type { Card, CdsResponse } from '../../src/cds/types.js';
import type { Determination } from '../../src/policy/types.js';
import type { BuildOptions } from '../../cards/build.js';
import { COVERAGE_INFORMATION_URL } from '../../cards/coverage-information.js';
import { assertOnlyCoverageInfoAdded, checkCoverageInformation } from '../../cards/checks.js';

export type CrdCardType = 'instructions' | 'external-reference' | 'launch-smart' | 'additional-orders' | 'propose-alternate' | 'remove-order';

const ORDER_TYPES = ['CommunicationRequest', 'Device', 'DeviceRequest', 'Medication', 'MedicationRequest', 'NutritionOrder', 'ServiceRequest', 'VisionPrescription'];

/** The single CRD response type a card fits (SPEC-DIGEST §2.8), or a problem description. */
export function crdCardType(card: Card): CrdCardType | `mixed: ${string}` {
  const links = card.links ?? [];
  const suggestions = card.suggestions ?? [];
  if (links.length > 0 && suggestions.length > 0) return 'mixed: links and suggestions';
  if (suggestions.length === 0) {
    if (links.length === 0) return card.detail ? 'instructions' : 'mixed: instructions without detail';
    if (links.every((l) => l.type === 'absolute')) return 'external-reference';
    if (links.every((l) => l.type === 'smart')) return 'launch-smart';
    return 'mixed: absolute and smart links';
  }
  const actions = suggestions.flatMap((s) => s.actions ?? []);
  if (actions.every((a) => a.type === 'create' && ORDER_TYPES.includes(a.resource?.resourceType ?? ''))) return 'additional-orders';
  const alternate = suggestions.every((s) => {
    const a = s.actions ?? [];
    if (a.length === 1 && a[0]!.type === 'update') return true;
    if (a.length === 2 && a[0]!.type === 'delete' && a[1]!.type === 'create') return a[1]!.resource?.resourceType === a[0]!.resourceId?.split('/')[0];
    return false;
  });
  if (alternate) return 'propose-alternate';
  if (suggestions.every((s) => s.actions?.length === 1 && s.actions[0]!.type === 'delete')) return 'remove-order';
  return 'mixed: suggestion actions';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function emptyOptionals(value: unknown, path: string, out: string[]): void {
  if (value === null) out.push(`${path} is null`);
  else if (value === '') out.push(`${path} is an empty string`);
  else if (Array.isArray(value)) {
    if (value.length === 0 && path !== 'response.cards') out.push(`${path} is an empty array`);
    value.forEach((v, i) => emptyOptionals(v, `${path}[${i}]`, out));
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out.push(`${path} is an empty object`);
    for (const [k, v] of entries) {
      if (v === undefined) out.push(`${path}.${k} is undefined`);
      else emptyOptionals(v, `${path}.${k}`, out);
    }
  }
}

/** Every problem of a built response (empty = fine). */
export function responseProblems(response: CdsResponse, determinations: Determination[], opts: BuildOptions): string[] {
  const p: string[] = [];
  if (!Array.isArray(response.cards)) return ['cards is not an array'];
  emptyOptionals(JSON.parse(JSON.stringify(response)), 'response', p);
  const uuids = new Set<string>();
  const unique = (id: string | undefined, where: string): void => {
    if (!id || !UUID.test(id)) p.push(`${where}: uuid missing or not a UUID`);
    else if (uuids.has(id)) p.push(`${where}: duplicate uuid ${id}`);
    else uuids.add(id);
  };
  response.cards.forEach((card, i) => {
    const w = `cards[${i}]`;
    unique(card.uuid, w);
    if (typeof card.summary !== 'string' || card.summary.length === 0 || card.summary.length > 139) p.push(`${w}: summary length ${card.summary?.length}`);
    if (!['info', 'warning', 'critical'].includes(card.indicator)) p.push(`${w}: indicator ${card.indicator}`);
    if (card.indicator === 'critical' && opts.findingIndicator !== 'critical') p.push(`${w}: critical without configuration`);
    if (!card.source?.label) p.push(`${w}: source.label`);
    if (typeof card.source?.topic?.system !== 'string' || typeof card.source?.topic?.code !== 'string') p.push(`${w}: source.topic`);
    if (card.suggestions && card.selectionBehavior !== 'any') p.push(`${w}: suggestions without selectionBehavior any`);
    if (!card.suggestions && card.selectionBehavior) p.push(`${w}: selectionBehavior without suggestions`);
    (card.suggestions ?? []).forEach((s, j) => {
      unique(s.uuid, `${w}.suggestions[${j}]`);
      if (!s.label) p.push(`${w}.suggestions[${j}]: label`);
      if (!s.actions || s.actions.length === 0) p.push(`${w}.suggestions[${j}]: no actions`);
      (s.actions ?? []).forEach((a, k) => {
        const aw = `${w}.suggestions[${j}].actions[${k}]`;
        if (!a.description) p.push(`${aw}: description`);
        if (a.type === 'delete') {
          if (a.resource || !/^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(a.resourceId ?? '')) p.push(`${aw}: delete needs resourceId Type/id only`);
          if (!determinations.some((d) => d.order.ref === a.resourceId)) p.push(`${aw}: delete of a resource not in draftOrders`);
        } else if (!a.resource?.resourceType || a.resourceId) p.push(`${aw}: ${a.type} needs a resource`);
        if (a.type === 'update' && !determinations.some((d) => d.order.ref === `${a.resource?.resourceType}/${a.resource?.id}`)) {
          p.push(`${aw}: update of a resource not in draftOrders`);
        }
      });
    });
    (card.overrideReasons ?? []).forEach((r, j) => {
      if (!r.code || !r.system || !r.display) p.push(`${w}.overrideReasons[${j}]: code/system/display`);
    });
    (card.links ?? []).forEach((l, j) => {
      if (!l.label || !/^https?:\/\/[^/\s]+/.test(l.url) || !['absolute', 'smart'].includes(l.type)) p.push(`${w}.links[${j}]`);
      if (l.type !== 'smart' && l.appContext !== undefined) p.push(`${w}.links[${j}]: appContext on absolute link`);
    });
    const type = crdCardType(card);
    if (type.startsWith('mixed')) p.push(`${w}: no single CRD response type (${type})`);
  });

  const assertionIds = new Set<string>();
  (response.systemActions ?? []).forEach((a, i) => {
    const w = `systemActions[${i}]`;
    if (a.type !== 'update' || !a.description || !a.resource) {
      p.push(`${w}: must be an update with description and resource`);
      return;
    }
    const ref = `${a.resource.resourceType}/${a.resource.id}`;
    const det = determinations.find((d) => d.order.ref === ref);
    if (!det) p.push(`${w}: ${ref} is not a draft order`);
    else {
      try {
        assertOnlyCoverageInfoAdded(det.order.resource, a.resource);
      } catch (err) {
        p.push(`${w}: ${(err as Error).message}`);
      }
    }
    const exts = ((a.resource as { extension?: Extension[] }).extension ?? []).filter((e) => e.url === COVERAGE_INFORMATION_URL);
    if (exts.length === 0) p.push(`${w}: no coverage-information extension`);
    for (const ext of exts) {
      for (const v of checkCoverageInformation(ext, { crdVersion: opts.crdVersion, hook: opts.hook })) p.push(`${w}: ${v}`);
      const id = ext.extension?.find((e) => e.url === 'coverage-assertion-id')?.valueString;
      if (id && assertionIds.has(id)) p.push(`${w}: assertion id ${id} reused`);
      if (id) assertionIds.add(id);
    }
  });
  return p;
}

/** The lead's response validator (src/cds/schemas.ts), when it exists. */
export async function loadSchemaValidator(): Promise<((body: unknown) => string[]) | undefined> {
  const url = new URL('../../src/cds/schemas.ts', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  const mod = (await import(/* @vite-ignore */ url.href)) as { validateCdsResponse?: (body: unknown) => string[] };
  return mod.validateCdsResponse;
}
