// Discovery entries for the two services. Prefetch templates are derived from the loaded policies' data requirements
// (src/policy/requirements.ts → src/fhir/prefetch.ts), so the discovery document asks for exactly what the rules read.
import type { CdsServiceDefinition, HookName } from '../src/cds/types.js';
import { type PrefetchTemplate, toDiscoveryPrefetch } from '../src/fhir/prefetch.js';
import { CONFIGURATION_OPTIONS } from './pipeline.js';

/**
 * What an EHR must give: the order, and either every prefetch key or FHIR read access to each type the templates ask
 * for (their search types and `_include` targets, from the loaded policies' data requirements).
 */
export function usageRequirements(templates: readonly PrefetchTemplate[]): string {
  const types: string[] = [];
  for (const t of templates) for (const type of [t.resourceType, ...t.includedTypes]) if (!types.includes(type)) types.push(type);
  const list = types.length > 1 ? `${types.slice(0, -1).join(', ')} and ${types[types.length - 1]}` : types.join('');
  return (
    'Send the infusion-pump order (DeviceRequest with an HCPCS or SNOMED code; companion MedicationRequests and supply ' +
    'DeviceRequests in the same draftOrders) and either all prefetch keys or fhirServer + fhirAuthorization with read ' +
    `access to ${list} for the patient. Coverage must identify the payer ` +
    '(Coverage.payor / type / class). Orders that are not infusion pumps, pump supplies or pump drugs are ignored.'
  );
}

/** CRD versions whose response shapes this service can emit (2.0.1 is the default when none is requested). */
export const CRD_VERSIONS_DECLARED = ['2.2'];

function definition(hook: HookName, id: string, title: string, description: string, templates: PrefetchTemplate[]): CdsServiceDefinition {
  return {
    hook,
    id,
    title,
    description,
    usageRequirements: usageRequirements(templates),
    prefetch: toDiscoveryPrefetch(templates),
    extension: {
      'davinci-crd.version': CRD_VERSIONS_DECLARED,
      'davinci-crd.configuration-options': CONFIGURATION_OPTIONS.map((o) => ({ ...o })),
    },
  };
}

export const ORDER_SIGN_ID = 'pumpcheck-order-sign';
export const ORDER_SELECT_ID = 'pumpcheck-order-select';

export const orderSignDefinition = (templates: PrefetchTemplate[]) =>
  definition(
    'order-sign',
    ORDER_SIGN_ID,
    'Infusion pump coverage and documentation check',
    'Checks infusion-pump orders (external E0779/E0780/E0781/E0784/E0791/K0455, implantable E0782/E0783) with their ' +
      'drugs and supplies against the payer coverage policy (Medicare NCD 280.14, LCD L33794 / A52507) before signing: ' +
      'unmet criteria, missing documentation, and a Da Vinci CRD coverage-information system action on each order.',
    templates,
  );

export const orderSelectDefinition = (templates: PrefetchTemplate[]) =>
  definition(
    'order-select',
    ORDER_SELECT_ID,
    'Infusion pump coverage pre-check',
    'When an infusion-pump order is selected, lists what the payer will require for it and what is already on file.',
    templates,
  );
