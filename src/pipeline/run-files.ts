// The run directory's file formats are owned by the run layer; re-exported here for existing callers.
export { dataFingerprint, historyCsv, predictionsCsv, toJson, writeAtomic } from '../run/index.js';
