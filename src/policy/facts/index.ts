// The bespoke facts the loader validates policy files against (an unknown fact name stops start-up). Everything a
// criterion kind can express is a kind (src/policy/kinds/); these are the computations left.
import type { FactDefinition } from '../types.js';
import { csiiFactDefinitions } from './csii.js';

export const allFacts: Readonly<Record<string, FactDefinition>> = Object.freeze({ ...csiiFactDefinitions });
