// The fact registry the loader validates policy files against (an unknown fact name stops start-up).
import type { FactFunction } from '../types.js';
import { csiiFacts } from './csii.js';

export const allFacts: Readonly<Record<string, FactFunction>> = Object.freeze({ ...csiiFacts });
