import type { AfterBatch, BeforePhase, FitHandler } from '../fit-events.js';
import type { FitEvent, FitState } from '../fit-types.js';

/** Reports the loop to `onEvent` as `FitEvent`s (phase-start, batch-end, epoch-end); the CLI draws progress from them. */
export function progressHandler(onEvent: ((e: FitEvent) => void) | undefined): FitHandler {
  if (!onEvent) return {};
  return {
    beforePhase: (e: BeforePhase) => onEvent({ type: 'phase-start', phase: e.phase, epochs: e.options.epochs, trainable: e.trainable, total: e.total }),
    afterBatch: (e: AfterBatch) => {
      onEvent(e); // a progress callback never decides anything, whatever it returns
    },
    afterEpoch: (s: Readonly<FitState>) => {
      // `best`: this epoch is the best one (the best-weights handler kept it just now)
      onEvent({ type: 'epoch-end', record: s.history[s.history.length - 1]!, best: s.best?.phase === s.phase && s.best.epoch === s.epoch });
    },
  };
}
