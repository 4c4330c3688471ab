// Public surface of the train layer: named re-exports only.
export { AugmentOptions, FitOptions, LossOptions, MONITOR_PATTERN, PhaseOptions } from './options.js';
export { applyCutMix, cutmixBatch, drawCutMix } from './cutmix.js';
export type { CutMixDraw } from './cutmix.js';
export { applyAugment, augmentBatch, drawAugment, isAugmenting, mixupBatch } from './augment.js';
export type { AugmentDraw, AugmentSpec } from './augment.js';
export { balancedClassWeights, balancedSampleOrder, batches, checkClassLists, countLabels, resolveClassWeights, shuffledOrder, type ClassWeightSpec } from './sampling.js';
export { gatherRows, gatherTabular, hflipBatch, rowRange, subsetImages } from './image-set.js';
export type { ImageBytes, ImageSet } from './image-set.js';
export { Predictor, softmaxRows } from './predict.js';
export { fit, phasesOf } from './fit.js';
export { ResizableSchedule, replanEpochs } from './replan.js';
export type { Replan } from './replan.js';
export { lrFind, smoothLosses, suggestLr } from './lr-find.js';
export type { LrFindResult } from './lr-find.js';
export { copyWeights, loadWeights } from './weights.js';
export type { EpochRecord, FitArgs, FitEvent, FitHooks, FitResult, FitState, Monitor, ResumeFrom } from './fit-types.js';
export { TrunkCache } from './cached-trunk.js';
export type { CachedPhase, CacheEvent, TrunkCacheOptions } from './cached-trunk.js';
