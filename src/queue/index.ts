// Public surface of the queue layer (BullMQ on Redis: jobs, the worker loop, the batch-predict coordinator): named re-exports only.
export { QUEUE_NAME, checkQueueReachable, parseQueueUrl, redactUrl } from './connection.js';
export type { QueueConnection } from './connection.js';
export { BatchInputs, sourceRef } from './batch-inputs.js';
export type { BatchEntry, BatchSourceRef } from './batch-inputs.js';
export { ChunkRunner, medclassVersion, runHash } from './predict-chunk.js';
export type { ChunkPredictOptions, PartFile, PartRow, PredictChunkJob } from './predict-chunk.js';
export { chunkJob, chunkJobId, claimPartsDir, gatherCsv, partPath, planBatch, readPart } from './batch-plan.js';
export type { BatchPlan } from './batch-plan.js';
export { BatchPredictOptions, batchPredict } from './batch-predict.js';
export type { BatchEvent, BatchPredictOptionsInput, BatchSummary } from './batch-predict.js';
export { WorkerOptions, runWorker } from './worker.js';
export type { RunningWorker, WorkerEvent, WorkerOptionsInput } from './worker.js';
export { SweepOptions, runSweep, runTrainFold, sweepJobs } from './sweep.js';
export type { SweepOptionsInput, SweepSummary, TrainFoldJob } from './sweep.js';
