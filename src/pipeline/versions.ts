// Versions are recorded by the run layer (run.json); re-exported here for existing callers.
export { versions } from '../run/index.js';
