import { z } from 'zod';
import type { DicomWebClient } from '../data/index.js';
import { MedclassError } from '../errors.js';
import { DicomWebPredictOptions, DicomWebPredictor, type DicomWebPredictSummary } from './dicomweb-predict.js';
import { ProcessedState } from './state.js';

/** Options of `dicomwebWatch`: those of a predict pass, plus where to start and how often to poll. */
export const DicomWebWatchOptions = DicomWebPredictOptions.extend({
  since: z.string().regex(/^\d{8}$/, 'expected a date YYYYMMDD').describe('only studies from this StudyDate on (QIDO-RS StudyDate=YYYYMMDD-)'),
  intervalMs: z.number().int().min(100).default(30_000).describe('pause between two polls, in milliseconds'),
});
export type DicomWebWatchOptionsInput = z.input<typeof DicomWebWatchOptions>;

/** Progress of a watch: after each poll (its own summary) and the running totals. */
export type DicomWebWatchEvent = { type: 'poll-done'; poll: number; summary: DicomWebPredictSummary; totalStored: number; totalFailed: number };

/** What a watch did until it was stopped. */
export interface DicomWebWatchSummary {
  readonly polls: number;
  readonly stored: number;
  readonly failed: number;
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  if (signal.aborted) { resolve(); return; }
  const t = setTimeout(done, ms);
  function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
  signal.addEventListener('abort', done, { once: true });
});

/**
 * Polls QIDO-RS every `intervalMs` for instances of studies from `since` on and runs a `dicomwebPredict` pass on
 * the new ones, with the model opened once and the state file (`statePath`) shared by all passes, so a restart never
 * re-posts. Runs until `signal` aborts (the pass under way finishes first). A poll that fails as a whole (the server
 * is down) is reported through `onEvent` as a summary with no instance, and the next poll tries again.
 */
export async function dicomwebWatch(client: DicomWebClient, runDir: string, statePath: string, options: DicomWebWatchOptionsInput,
  opts: { signal: AbortSignal; onEvent?: (e: DicomWebWatchEvent) => void; onPollError?: (e: MedclassError) => void }): Promise<DicomWebWatchSummary> {
  const o = DicomWebWatchOptions.parse(options);
  const state = ProcessedState.load(statePath);
  const predictor = await DicomWebPredictor.open(runDir, { threads: o.threads });
  const { since, intervalMs, ...pass } = o;
  let polls = 0;
  let stored = 0;
  let failed = 0;
  try {
    while (!opts.signal.aborted) {
      polls++;
      try {
        const summary = await predictor.pass(client, state, { ...pass, query: { ...pass.query, StudyDate: `${since}-` } });
        stored += summary.stored.length;
        failed += summary.failed.length;
        opts.onEvent?.({ type: 'poll-done', poll: polls, summary, totalStored: stored, totalFailed: failed });
      } catch (e) {
        if (!(e instanceof MedclassError)) throw e;
        opts.onPollError?.(e);
      }
      await sleep(intervalMs, opts.signal);
    }
  } finally {
    await predictor.dispose();
  }
  return { polls, stored, failed };
}
