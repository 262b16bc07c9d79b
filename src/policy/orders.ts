// Moved to src/orders/ (the order model). Re-exported here so existing imports keep working.
export * from '../orders/index.js';
