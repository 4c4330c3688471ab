// Public surface of the serve layer (REST API and web app over one run directory): named re-exports only.
export { ListenOptions, ServeOptions } from './options.js';
export type { ServeOptionsInput } from './options.js';
export { buildServer } from './server.js';
export type { ServeLogStream } from './server.js';
export { errorReply } from './http-errors.js';
export { ErrorReply, ExplainReply, HealthReply, ModelReply, PredictReply, SimilarReply } from './schemas.js';
