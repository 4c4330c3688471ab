// The run configuration is composed in the run layer (src/run/config.ts) from the lower layers' option schemas.
export { DataConfig, ModelConfig, RunConfig } from '../run/index.js';
export type { RunConfigInput } from '../run/index.js';
