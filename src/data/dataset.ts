import { isMedclassError, type ErrorCode } from '../errors.js';
import { concatArrays, type Tensor } from '../engine/index.js';
import { mapLimit } from './concurrency.js';
import { preprocessBytes, preprocessImage } from './decode.js';
import { PreprocessOptions } from './options.js';
import type { DatasetItem, DatasetSource, DecodedImage, OnDataEvent, SplitName } from './types.js';

/** An item that failed to load: its id, the error code and the reason (never fatal to a batch). */
export interface SkippedItem { index: number; file: string; code: ErrorCode; reason: string }

/** A decoded batch: `x` is `[N,C,H,W]` float32 for the items that loaded, `labels`/`indices` aligned with it. */
export interface Batch {
  x: Tensor<'float32'>;
  labels: Int32Array;
  indices: number[];
  skipped: SkippedItem[];
}

/** A batch as preprocessed bytes (`preprocessBytes`): `bytes` is `[N,C,H,W]` for the items that loaded. */
export interface ByteBatch {
  bytes: Uint8Array;
  dims: [number, number, number, number];
  labels: Int32Array;
  indices: number[];
  skipped: SkippedItem[];
}

export interface DatasetOptions {
  /** Keep preprocessed tensors (per preprocessing setting) so later epochs skip decoding. Default true. */
  cacheTensors?: boolean;
  /** Keep decoded images returned by `image()`. Default false. */
  cacheDecoded?: boolean;
  /** Split per item overriding the source's (e.g. from `assignSplits`). */
  splits?: readonly SplitName[];
}

/** Describes a load failure as {code, reason}; non-coded errors become MC_DATA_UNREADABLE_IMAGE. */
export function describeFailure(e: unknown): { code: ErrorCode; reason: string } {
  if (isMedclassError(e)) return { code: e.code, reason: e.message };
  return { code: 'MC_DATA_UNREADABLE_IMAGE', reason: e instanceof Error ? e.message : String(e) };
}

/**
 * A source plus the state a consumer needs: split assignment and caches (owned here, never module-level).
 * `loadBatch` decodes and resizes with bounded concurrency, skipping (and reporting) unreadable items.
 */
export class Dataset {
  readonly source: DatasetSource;
  readonly splits: readonly (SplitName | undefined)[];
  private readonly cacheTensors: boolean;
  private readonly cacheDecoded: boolean;
  private readonly tensorCache = new Map<string, Map<number, Float32Array>>();
  private readonly decodedCache = new Map<number, DecodedImage>();

  constructor(source: DatasetSource, options: DatasetOptions = {}) {
    this.source = source;
    this.cacheTensors = options.cacheTensors ?? true;
    this.cacheDecoded = options.cacheDecoded ?? false;
    if (options.splits && options.splits.length !== source.items.length) {
      throw new RangeError(`Dataset: ${options.splits.length} splits for ${source.items.length} items`);
    }
    this.splits = options.splits ?? source.items.map((it) => it.split);
  }

  get items(): readonly DatasetItem[] { return this.source.items; }
  get classes(): readonly string[] { return this.source.classes; }
  get length(): number { return this.source.items.length; }

  /** Item indices in a split (in source order). */
  indicesOf(split: SplitName): number[] {
    const out: number[] = [];
    this.splits.forEach((s, i) => { if (s === split) out.push(i); });
    return out;
  }

  /** The decoded image of item `i` at its own size. */
  async image(i: number): Promise<DecodedImage> {
    const hit = this.decodedCache.get(i);
    if (hit) return hit;
    const img = await this.items[i]!.load();
    if (this.cacheDecoded) this.decodedCache.set(i, img);
    return img;
  }

  /** Decodes, resizes and normalises the items at `indices` into one `[N,C,H,W]` batch. */
  async loadBatch(indices: readonly number[], preprocess: PreprocessOptions, opts: { concurrency?: number; onEvent?: OnDataEvent } = {}): Promise<Batch> {
    const p = PreprocessOptions.parse(preprocess);
    const key = JSON.stringify(p);
    let cache = this.tensorCache.get(key);
    if (!cache && this.cacheTensors) this.tensorCache.set(key, (cache = new Map()));
    const r = await this.loadEach(indices, opts, async (index, id) => {
      const hit = cache?.get(index);
      if (hit) return hit;
      const t = (await preprocessImage(await this.image(index), p, id)).data;
      cache?.set(index, t);
      return t;
    });
    return { x: { dtype: 'float32', dims: [r.indices.length, p.channels, p.size, p.size], data: concatArrays(r.rows, Float32Array) }, labels: r.labels, indices: r.indices, skipped: r.skipped };
  }

  /** The items at `indices` as preprocessed bytes (`preprocessBytes`, no tensor cache): what a training run holds. */
  async loadBytes(indices: readonly number[], preprocess: PreprocessOptions, opts: { concurrency?: number; onEvent?: OnDataEvent } = {}): Promise<ByteBatch> {
    const p = PreprocessOptions.parse(preprocess);
    const r = await this.loadEach(indices, opts, async (index, id) => preprocessBytes(await this.image(index), p, id));
    return { bytes: concatArrays(r.rows, Uint8Array), dims: [r.indices.length, p.channels, p.size, p.size], labels: r.labels, indices: r.indices, skipped: r.skipped };
  }

  /**
   * Runs `prepare` on each item with bounded concurrency (`image()`: file items decode through their image guard),
   * collecting the rows that loaded and reporting the rest as skipped.
   */
  private async loadEach<R>(indices: readonly number[], opts: { concurrency?: number; onEvent?: OnDataEvent },
    prepare: (index: number, id: string) => Promise<R>,
  ): Promise<{ rows: R[]; labels: Int32Array; indices: number[]; skipped: SkippedItem[] }> {
    const results = await mapLimit(indices, opts.concurrency ?? 4, async (index): Promise<{ row: R } | SkippedItem> => {
      const item = this.items[index]!;
      try {
        return { row: await prepare(index, item.id) };
      } catch (e) {
        const f = describeFailure(e);
        opts.onEvent?.({ type: 'item-skipped', file: item.id, ...f });
        return { index, file: item.id, ...f } satisfies SkippedItem;
      }
    });
    const rows: R[] = [];
    const kept: number[] = [];
    const skipped: SkippedItem[] = [];
    results.forEach((r, k) => {
      if ('row' in r) { rows.push(r.row); kept.push(indices[k]!); } else skipped.push(r);
    });
    return { rows, labels: Int32Array.from(kept, (i) => this.items[i]!.labelIndex), indices: kept, skipped };
  }
}
