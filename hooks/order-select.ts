// order-select: a quieter, earlier view when the clinician picks a pump order (a CRD secondary hook).
import { orderSelectDefinition } from './definitions.js';
import { type PipelineDeps, runOrderHook } from './pipeline.js';
import type { HookService } from './types.js';

export function orderSelectService(deps: PipelineDeps): HookService {
  const definition = orderSelectDefinition(deps.prefetchTemplates);
  return { hook: 'order-select', definition, handle: (call) => runOrderHook('order-select', definition.id, call, deps) };
}
