// Public surface of the report layer (HTML report, SVG plots, model card): named re-exports only.
export { binsOf, fmt, headlineRows, perClassRows } from './headline.js';
export type { HeadlineRow } from './headline.js';
