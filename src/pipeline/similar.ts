import { z } from 'zod';
import { softmax } from '../eval/index.js';
import { EmbeddingIndex, Embedder, type SimilarCase } from '../retrieval/index.js';
import { MedclassError, type ErrorCode } from '../errors.js';
import { modelSha256 } from './index-run.js';
import { decodeInputs, type ImageInput } from './decode-inputs.js';
import { RunModel } from './predict.js';

/** Options of `findSimilar` (and `medclass similar`). */
export const SimilarOptions = z.strictObject({
  k: z.number().int().min(1).default(5).describe('similar training cases per image'),
  batchSize: z.number().int().min(1).default(32).describe('images per onnxruntime call'),
  concurrency: z.number().int().min(1).default(4).describe('images decoded at once'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
  meta: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional()
    .describe("fusion runs: the tabular values of the images (every column of tabular.json; '' or null = missing)"),
});
export type SimilarOptionsInput = z.input<typeof SimilarOptions>;

/** One image's prediction and its most similar training cases, or why it could not be read. */
export type SimilarResult =
  | {
    file: string;
    /** the model's predicted class (as `medclass predict`: TTA as the run was evaluated) and its probability (temperature-scaled when the run has T) */
    label: string;
    labelIndex: number;
    probability: number;
    /** the k most similar training cases, most similar first (cosine similarity of the embeddings) */
    similar: SimilarCase[];
    error?: undefined;
  }
  | { file: string; error: { code: ErrorCode; message: string } };

/** A run opened for similar-case look-ups: the model (predictions), the embedding session and the index; `dispose` when done. */
export interface RunRetriever {
  model: RunModel;
  embedder: Embedder;
  index: EmbeddingIndex;
  dispose(): Promise<void>;
}

/**
 * Opens `runDir` for `similarWith` (a server keeps one open): loads `index/` (`MC_RETRIEVAL_NO_INDEX` when absent,
 * `MC_RETRIEVAL_STALE_INDEX` when built from another model.onnx), the model and an embedding session.
 */
export async function openRetriever(runDir: string, opts: { threads?: number } = {}): Promise<RunRetriever> {
  const index = EmbeddingIndex.load(runDir);
  if (index.manifest.modelSha256 !== modelSha256(runDir)) {
    throw new MedclassError('MC_RETRIEVAL_STALE_INDEX', 'index/items.json was built from another model.onnx (SHA-256 differs)', { file: 'index/items.json', hint: 'rebuild it with medclass index --run DIR' });
  }
  const model = await RunModel.open(runDir, opts);
  try {
    const embedder = await Embedder.create(model.modelBytes(), {
      input: model.preprocess.input, output: model.preprocess.output, embedding: index.manifest.embedding, ...(opts.threads ? { threads: opts.threads } : {}),
    });
    return { model, embedder, index, dispose: async () => { await embedder.dispose(); await model.dispose(); } };
  } catch (e) {
    await model.dispose();
    throw e;
  }
}

/**
 * For each image: the run's prediction and the k most similar cases of its training split, by cosine similarity of
 * the model's embeddings against `index/` (built by `buildRunIndex`). Unreadable files come back as
 * `{file, error}`; the rest go on. An index built from another model.onnx is `MC_RETRIEVAL_STALE_INDEX`.
 * Research software, not a diagnostic device: similar cases are a look-up, not a second opinion.
 *
 * @example
 * const [r] = await findSimilar('runs/pneumonia', ['xray.png'], { k: 5 });
 * if (!r.error) r.similar.map((c) => `${c.id} ${c.label} ${c.similarity.toFixed(3)}`);
 */
export async function findSimilar(runDir: string, files: readonly ImageInput[], options: SimilarOptionsInput = {}): Promise<SimilarResult[]> {
  const o = SimilarOptions.parse(options);
  const r = await openRetriever(runDir, { threads: o.threads });
  try {
    return await similarWith(r, files, o);
  } finally {
    await r.dispose();
  }
}

/** `findSimilar` with an open `RunRetriever`. */
export async function similarWith(r: RunRetriever, files: readonly ImageInput[], options: SimilarOptionsInput = {}): Promise<SimilarResult[]> {
  const o = SimilarOptions.parse(options);
  const { model, embedder, index } = r;
  const pre = model.preprocessOptions;
  const sample = [pre.channels, pre.size, pre.size];
  const row = model.tabular || o.meta ? model.encodeMeta([o.meta], () => 'similar') : undefined; // fusion runs
  const { entries, ok, x } = await decodeInputs(files, pre, o.concurrency);
  const out: SimilarResult[] = entries.map((d) => ({ file: d.name, error: d.error! })) // decoded ones are replaced below;
  if (!ok.length) return out;
  const tab = row ? new Float32Array(ok.length * row.length).map((_, i) => row[i % row.length]!) : undefined;
  const { embeddings } = await embedder.run(x, ok.length, sample, o.batchSize, tab && model.preprocess.tabularInput ? { [model.preprocess.tabularInput]: tab } : {});
  // the label as medclass predict gives it (flip TTA when the run was evaluated with it)
  const logits = await model.logits(x, ok.length, { batchSize: o.batchSize, ...(tab ? { tab } : {}) });
  const k = model.classes.length;
  const probs = softmax(Float64Array.from(logits), k, model.temperature ?? 1);
  const cases = index.casesOf(await index.searchMany(embeddings, ok.length, o.k, { threads: 1 }));
  ok.forEach((i, j) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[j * k + c]! > probs[j * k + best]!) best = c;
    out[i] = { file: entries[i]!.name, label: model.classes[best]!, labelIndex: best, probability: probs[j * k + best]!, similar: cases[j]! };
  });
  return out;
}
