import { Session, concatArrays, loadModel, saveModel, type Graph, type Tensor } from '../engine/index.js';
import { MedclassError } from '../errors.js';

/** Where `Embedder` reads: the graph's input, its logits output and the embedding value (a tap of medclass models). */
export interface EmbedderOptions {
  input?: string;
  output?: string;
  /** value `[N, D]` holding the embedding (default `embedding`, the tap every built-in net and backbone has) */
  embedding?: string;
  threads?: number;
}

/** Logits `[n, classes]` and embeddings `[n, dim]` of a batch. */
export interface EmbedderResult {
  logits: Float32Array;
  embeddings: Float32Array;
  dim: number;
}

/**
 * The graph with `embedding` added as an output after `logits` (a copy; model.onnx files written before the
 * embedding was exported keep it as an internal value). `MC_RETRIEVAL_NO_EMBEDDING` when no node produces it.
 */
export function withEmbeddingOutput(graph: Graph, embedding = 'embedding'): Graph {
  if (graph.outputs.some((o) => o.name === embedding)) return graph;
  if (!graph.nodes.some((n) => n.outputs.includes(embedding))) {
    throw new MedclassError('MC_RETRIEVAL_NO_EMBEDDING', `model.onnx: no value named '${embedding}' (outputs: ${graph.outputs.map((o) => o.name).join(', ')})`, {
      file: 'model.onnx', hint: "models trained by medclass have an 'embedding' tap; for another model name its [N,D] value with --embedding",
    });
  }
  const info = graph.valueInfo.get(embedding);
  return { ...graph, outputs: [...graph.outputs, { name: embedding, dtype: 'float32', dims: info ? [...info.dims] : ['N', 'D'] }] };
}

/** A model run for its logits and embeddings in one onnxruntime session; `dispose` when done. */
export class Embedder {
  private constructor(private readonly session: Session, readonly input: string, readonly output: string, readonly embedding: string) {}

  /** Compiles `model` (ONNX bytes, e.g. a run's model.onnx) with the embedding exposed as an output. */
  static async create(model: Uint8Array, opts: EmbedderOptions = {}): Promise<Embedder> {
    const embedding = opts.embedding ?? 'embedding';
    const graph = withEmbeddingOutput(loadModel(model), embedding);
    const input = opts.input ?? graph.inputs[0]?.name ?? 'x';
    const output = opts.output ?? graph.outputs[0]?.name ?? 'logits';
    const session = await Session.create(saveModel(graph), opts.threads ? { threads: opts.threads } : {});
    return new Embedder(session, input, output, embedding);
  }

  /**
   * Runs images `x` `[n, ...sample]` (sample = [C, H, W]) in batches of `batchSize`. `extra` holds `[n, F]` rows of
   * any other graph input (an image + tabular model's `tab`), sliced per batch like `x`.
   */
  async run(x: Float32Array, n: number, sample: readonly number[], batchSize = 32, extra: Readonly<Record<string, Float32Array>> = {}): Promise<EmbedderResult> {
    const per = sample.reduce((a, b) => a * b, 1);
    if (x.length !== n * per) throw new MedclassError('MC_ENGINE_SHAPE_MISMATCH', `${this.input}: expected [${n},${sample.join(',')}] (${n * per} values), got ${x.length} values`);
    const logits: Float32Array[] = [];
    const embeddings: Float32Array[] = [];
    let dim = 0;
    for (let s = 0; s < n; s += batchSize) {
      const m = Math.min(batchSize, n - s);
      const feeds: Record<string, Tensor> = {};
      for (const [name, data] of Object.entries(extra)) {
        const f = data.length / n;
        feeds[name] = { dtype: 'float32', dims: [m, f], data: data.slice(s * f, (s + m) * f) };
      }
      const r = await this.session.run({ ...feeds, [this.input]: { dtype: 'float32', dims: [m, ...sample], data: x.slice(s * per, (s + m) * per) } }, [this.output, this.embedding]);
      const e = r[this.embedding]!;
      if (e.dims.length !== 2 || e.dims[0] !== m) {
        throw new MedclassError('MC_RETRIEVAL_NO_EMBEDDING', `${this.embedding}: expected [${m},D], got [${e.dims.join(',')}]`, { file: 'model.onnx', hint: 'name a 2-D [N,D] value with --embedding' });
      }
      dim = e.dims[1]!;
      embeddings.push(Float32Array.from(e.data as Float32Array));
      logits.push(Float32Array.from(r[this.output]!.data as Float32Array));
    }
    return { logits: concatArrays(logits, Float32Array), embeddings: concatArrays(embeddings, Float32Array), dim };
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
