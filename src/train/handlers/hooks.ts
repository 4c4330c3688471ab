import type { AfterBatch, FitHandler } from '../fit-events.js';
import type { FitHooks, FitState } from '../fit-types.js';

/**
 * The caller's `FitHooks` as a handler: `onBatchEnd` after each batch (Ctrl-C answers 'stop' there) and `onEpochEnd`
 * with the resumable state after each epoch, where the caller writes its checkpoints and history.
 */
export function hooksHandler(hooks: FitHooks | undefined): FitHandler {
  return {
    afterBatch: (e: AfterBatch) => hooks?.onBatchEnd?.(e),
    afterEpoch: (s: Readonly<FitState>) => hooks?.onEpochEnd?.(s),
  };
}
