import { copyWeights, type FitState, type ResumeFrom } from '../../src/train/index.js';

const copies = (m: ReadonlyMap<string, Float32Array>) => new Map([...m].map(([n, d]) => [n, d.slice()]));

/** A deep copy of an epoch-end `FitState` as a checkpoint would hold it: what to resume from, and the raw weights. */
export function fitSnapshot(s: FitState): ResumeFrom & { params: Map<string, Float32Array> } {
  return {
    phase: s.phase, epoch: s.epoch, step: s.step, optimizer: structuredClone(s.optimizer.stateDict()), history: [...s.history], badEpochs: s.badEpochs,
    ...(s.best ? { best: { ...s.best, params: copies(s.best.params) } } : {}),
    ...(s.ema ? { ema: copies(s.ema) } : {}), ...(s.replans.length ? { replans: structuredClone([...s.replans]) } : {}), params: copyWeights(s.net),
  };
}
