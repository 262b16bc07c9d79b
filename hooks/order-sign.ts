// order-sign: the decisive check just before the orders leave draft (a CRD primary hook).
import { orderSignDefinition } from './definitions.js';
import { type PipelineDeps, runOrderHook } from './pipeline.js';
import type { HookService } from './types.js';

export function orderSignService(deps: PipelineDeps): HookService {
  const definition = orderSignDefinition(deps.prefetchTemplates);
  return { hook: 'order-sign', definition, handle: (call) => runOrderHook('order-sign', definition.id, call, deps) };
}
