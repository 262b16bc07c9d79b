// The criterion kinds a policy file may use (`"kind": "<name>"`). One concept per module, each with its test.
import { allergy } from './allergy.js';
import { attestation } from './attestation.js';
import { condition } from './condition.js';
import { device } from './device.js';
import { encounter } from './encounter.js';
import { medication } from './medication.js';
import { observation } from './observation.js';
import { order } from './order.js';
import { orderElement } from './order-element.js';
import { patient } from './patient.js';
import { procedure } from './procedure.js';
import type { CriterionKind } from './types.js';

export const KINDS: Readonly<Record<string, CriterionKind<any>>> = Object.freeze({
  condition,
  observation,
  medication,
  procedure,
  encounter,
  attestation,
  allergy,
  device,
  order,
  'order-element': orderElement,
  patient,
});

export type { CriterionKind, DataRequirement, Finding, KindContext, KindOutcome, AnchorValue } from './types.js';
