// The public surface: named re-exports of each layer's index.
export * from './errors.js';
