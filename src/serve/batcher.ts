import { concatArrays } from '../engine/index.js';
import type { RunModel } from '../pipeline/index.js';
import type { SerialQueue } from './resources.js';

/** What `RunModel.logits` takes besides the images: TTA, the encoded tabular rows of a fusion run, the chunk size. */
type LogitsOptions = Parameters<RunModel['logits']>[2];

/** One session run over a whole batch: logits `[n, K]`. */
export type BatchRun = (x: Float32Array, n: number, opts: { tta: boolean; tab?: Float32Array }) => Promise<Float32Array>;

/** An ensemble's or MC-dropout run's `withUncertainty` (the server passes its worker thread's). */
export type UncertainRun = (x: Float32Array, n: number, opts: { tta: boolean; tab?: Float32Array }) => ReturnType<RunModel['withUncertainty']>;

interface Job {
  x: Float32Array;
  n: number;
  tab: Float32Array | undefined;
  key: string;
  at: number;
  resolve(logits: Float32Array): void;
  reject(e: unknown): void;
}

/**
 * Gathers concurrent requests' images into one session run, as Triton's dynamic batcher does: a batch starts as soon
 * as `maxBatch` images wait, or `maxDelayMs` after its oldest request arrived, or at once when the model is idle and
 * `maxDelayMs` is 0; the logits are split back per request. Only jobs with the same TTA setting and the same kind of
 * input (image only / image + tabular) share a run. The model is per-image, so each request's logits equal its own
 * unbatched run's. Runs go through the model's `SerialQueue`, one at a time, beside Grad-CAM and retrieval jobs (which take the
 * same cores).
 */
export class DynamicBatcher {
  private readonly pending: Job[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** session runs made and images they carried (for tests and the bench) */
  readonly stats = { runs: 0, images: 0 };

  /**
   * `run` does the session run (default: `model.logits` on this thread; the server passes its worker thread's), and
   * `uncertain` an ensemble's or MC-dropout run's logits with their uncertainty (per request, in the same queue).
   */
  constructor(
    private readonly model: RunModel, private readonly queue: SerialQueue, private readonly maxBatch: number, private readonly maxDelayMs: number,
    private readonly run: BatchRun = (x, n, o) => model.logits(x, n, { batchSize: Math.max(n, 1), ...o }),
    private readonly uncertain: UncertainRun = (x, n, o) => model.withUncertainty(x, n, { batchSize: Math.max(n, 1), ...o }),
  ) {}

  /** `model.logits(x, n, opts)`, run inside a shared batch. */
  logits(x: Float32Array, n: number, opts: LogitsOptions = {}): Promise<Float32Array> {
    const tta = opts.tta ?? this.model.tta;
    return new Promise((resolve, reject) => {
      this.pending.push({ x, n, tab: opts.tab, key: `${tta ? 'tta' : 'plain'}:${opts.tab ? 'tab' : 'image'}`, at: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /**
   * A view of `model` whose `logits` go through this batcher (everything else is the model's own), so `predictWith`
   * and tabular attribution batch without knowing it.
   */
  batchedModel(): RunModel {
    const withUncertainty: RunModel['withUncertainty'] = (x, n, opts = {}) =>
      this.queue.run(() => this.uncertain(x, n, { tta: opts.tta ?? this.model.tta, ...(opts.tab ? { tab: opts.tab } : {}) }));
    return Object.create(this.model, { logits: { value: this.logits.bind(this) }, withUncertainty: { value: withUncertainty } }) as RunModel;
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return;
    const head = this.pending[0]!;
    const waiting = this.pending.reduce((s, j) => s + (j.key === head.key ? j.n : 0), 0);
    const wait = this.maxDelayMs - (performance.now() - head.at);
    if (waiting >= this.maxBatch || wait <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = undefined; this.schedule(); }, wait);
    }
  }

  /** Takes jobs of the head's kind in arrival order up to `maxBatch` images (always at least one), runs them once, splits. */
  private async flush(): Promise<void> {
    const key = this.pending[0]!.key;
    const batch: Job[] = [];
    let images = 0;
    for (let i = 0; i < this.pending.length;) {
      const j = this.pending[i]!;
      if (j.key !== key || (batch.length > 0 && images + j.n > this.maxBatch)) { i++; continue; }
      batch.push(j);
      images += j.n;
      this.pending.splice(i, 1);
    }
    this.running = true;
    try {
      const x = concatArrays(batch.map((j) => j.x), Float32Array);
      const tab = batch[0]!.tab ? concatArrays(batch.map((j) => j.tab!), Float32Array) : undefined;
      const tta = key.startsWith('tta');
      const logits = await this.queue.run(() => this.run(x, images, { tta, ...(tab ? { tab } : {}) }));
      this.stats.runs++;
      this.stats.images += images;
      const k = logits.length / Math.max(images, 1);
      let s = 0;
      for (const j of batch) {
        j.resolve(logits.slice(s * k, (s + j.n) * k));
        s += j.n;
      }
    } catch (e) {
      for (const j of batch) j.reject(e);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
