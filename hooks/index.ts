import { orderSelectService } from './order-select.js';
import { orderSignService } from './order-sign.js';
import type { PipelineDeps } from './pipeline.js';
import type { HookService } from './types.js';

export type { HookService } from './types.js';
export type { PipelineDeps } from './pipeline.js';

export function createHookServices(deps: PipelineDeps): HookService[] {
  return [orderSelectService(deps), orderSignService(deps)];
}
