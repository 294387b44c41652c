export * from './errors.js';
export * from './ids.js';
export * from './hash.js';
export * from './time.js';
export * from './json.js';
export * from './ndjson.js';
export * from './heap.js';
export * from './paths.js';
