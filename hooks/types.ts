// What a hook module provides: its discovery entry and its handler. The HTTP edge knows nothing else about hooks.
import type { CdsRequest, CdsResponse, CdsServiceDefinition, HookName } from '../src/cds/types.js';
import type { Logger } from '../src/logger.js';

export interface HookCall {
  request: CdsRequest;
  logger: Logger;
  /** When the request arrived; evaluation dates fall back to it when an order has no authoredOn. */
  requestTime: Date;
  /** Public base URL of this service as the caller sees it (for Questionnaire links). */
  baseUrl: string;
}

export interface HookService {
  definition: CdsServiceDefinition;
  hook: HookName;
  handle(call: HookCall): Promise<CdsResponse>;
}
