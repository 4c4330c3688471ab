// The public surface of medclass: the error catalogue and each layer's named exports, lowest layer first.
export * from './errors.js';
export * from './engine/index.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './train/index.js';
export * from './eval/index.js';
export * from './explain/index.js';
export * from './retrieval/index.js';
export * from './run/index.js';
export * from './report/index.js';
export * from './pipeline/index.js';
export * from './serve/index.js';
export * from './pacs/index.js';
