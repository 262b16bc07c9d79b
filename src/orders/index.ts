// The order model: recognition of pump orders and everything around them (see types.ts).
export * from './catalogue.js';
export * from './drugs.js';
export { recogniseOrders, type RecogniseOptions } from './recognise.js';
export { localReference } from './read.js';
export * from './types.js';
export { ORDER_DATA_REQUIREMENTS } from './requirements.js';
