import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { softmax } from '../eval/index.js';
import { SERVING_OUTPUTS, servingModelName, versions } from '../pipeline/index.js';
import { MedclassError, isMedclassError, type ErrorCode } from '../errors.js';
import { errorReply } from './http-errors.js';
import type { ServeOptions } from './options.js';
import type { ServeResources } from './resources.js';
import { jsonSchema } from './schemas.js';

// KServe v2 / Open Inference Protocol, HTTP/REST (kserve/open-inference-protocol, specification/protocol/inference_rest.md):
// health, server and model metadata, model ready, and inference with JSON tensor data. Errors answer {"error": "<code>: <message>"}.

/** The one version a run is served (and exported to Triton) as. */
const VERSION = '1';

/** `$parameters`: name → string, number or boolean (values are checked where a parameter is read). */
const Parameters = z.record(z.string(), z.unknown());

/** `$inference_request` of the protocol; `data` may be flat or nested row-major arrays (checked in the handler). */
export const InferRequest = z.object({
  id: z.string().max(256).optional(),
  parameters: Parameters.optional().describe('medclass: tta (boolean, default: as the run was evaluated)'),
  inputs: z.array(z.object({
    name: z.string().max(128),
    shape: z.array(z.number().int().min(0)).max(8),
    datatype: z.string().max(16),
    parameters: Parameters.optional(),
    data: z.array(z.unknown()),
  })).min(1).max(4),
  outputs: z.array(z.object({ name: z.string().max(128), parameters: Parameters.optional() })).max(4).optional(),
});
export type InferRequest = z.output<typeof InferRequest>;

/** A `$metadata_tensor`: variable-size dimensions are −1. */
interface MetadataTensor { name: string; datatype: string; shape: number[] }

/** HTTP status of the codes the KServe routes raise themselves; others follow `errorReply`. */
const STATUS: Partial<Record<ErrorCode, number>> = { MC_SERVE_BAD_TENSOR: 400, MC_SERVE_UNKNOWN_MODEL: 404 };

const bad = (message: string) => new MedclassError('MC_SERVE_BAD_TENSOR', message);

/** The `{error}` body and status of a failure, as the protocol's `$inference_error_response`. */
function kserveError(e: unknown): { status: number; body: { error: string } } {
  const status = isMedclassError(e) ? STATUS[e.code] : undefined;
  if (status !== undefined && isMedclassError(e)) return { status, body: { error: `${e.code}: ${e.message}` } };
  const { reply } = errorReply(e);
  if (reply.code === 'MC_SERVE_UNSUPPORTED_MEDIA_TYPE' && !isMedclassError(e)) return { status: 415, body: { error: `${reply.code}: send the $inference_request as application/json` } };
  return { status: reply.statusCode, body: { error: `${reply.code}: ${reply.message}` } };
}

/** Flattens row-major `data` (flat or nested arrays) into float32, checking count and that every element is a number. */
function readFp32(name: string, data: readonly unknown[], count: number): Float32Array {
  const out = new Float32Array(count);
  let i = 0;
  const walk = (a: readonly unknown[]): void => {
    for (const v of a) {
      if (Array.isArray(v)) walk(v);
      else if (typeof v !== 'number') throw bad(`input '${name}': data holds a ${v === null ? 'null' : typeof v}; FP32 data must be numbers`);
      else if (i >= count) throw bad(`input '${name}': data has more than the ${count} elements its shape declares`);
      else out[i++] = v;
    }
  };
  walk(data);
  if (i !== count) throw bad(`input '${name}': data has ${i} elements, its shape declares ${count}`);
  return out;
}

/** Triton's classification extension: the top `k` classes per row as "score:index:label" (BYTES). */
function classification(p: Float32Array, n: number, k: number, top: number, classes: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(p.subarray(i * k, (i + 1) * k), (v, c) => ({ v, c })).sort((a, b) => b.v - a.v || a.c - b.c);
    for (const { v, c } of row.slice(0, top)) out.push(`${v}:${c}:${classes[c]}`);
  }
  return out;
}

/**
 * KServe v2 / Triton HTTP routes for the served run, under `/v2`: `GET /v2`, `/v2/health/live`, `/v2/health/ready`,
 * `/v2/models/{name}[/versions/1]` (metadata), `…/ready`, and `POST …/infer` with JSON tensors. The model's inputs
 * are the run's model.onnx inputs (`x` FP32 `[N,C,H,W]` after preprocessing; `tab` FP32 `[N,F]` for fusion runs), its
 * outputs `logits` and `probabilities` (softmax of logits / T, as `medclass predict`; flip TTA as the run was
 * evaluated unless `parameters.tta` says otherwise). Runs on the server's open session, one request at a time.
 */
export function registerKserveRoutes(app: FastifyInstance, res: ServeResources, o: ServeOptions): void {
  app.register(async (v2) => {
    v2.setErrorHandler((e: unknown, req: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = kserveError(e);
      if (status >= 500) req.log.error({ err: e }, 'request failed');
      return reply.code(status).send(body);
    });
    v2.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) =>
      reply.code(404).send({ error: `MC_SERVE_NOT_FOUND: no route for ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }));
    const model = res.explainer.model;
    const pre = model.preprocess;
    const name = servingModelName(res.runDir);
    const k = model.classes.length;
    const f = model.tabular?.features.length ?? 0;
    const inputs: MetadataTensor[] = [
      { name: pre.input, datatype: 'FP32', shape: [-1, pre.channels, pre.size, pre.size] },
      ...(pre.tabularInput ? [{ name: pre.tabularInput, datatype: 'FP32', shape: [-1, f] }] : []),
    ];
    const outputs: MetadataTensor[] = Object.values(SERVING_OUTPUTS).map((n) => ({ name: n, datatype: 'FP32', shape: [-1, k] }));
    const check = (p: { name: string; version?: string }) => {
      if (p.name !== name || (p.version !== undefined && p.version !== VERSION)) {
        throw new MedclassError('MC_SERVE_UNKNOWN_MODEL', `model '${p.name}'${p.version !== undefined ? ` version '${p.version}'` : ''} is not served here; this server has '${name}' version ${VERSION}`);
      }
    };
    const params = { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } }, required: ['name'] };
    const both = (path: string) => [`/models/:name${path}`, `/models/:name/versions/:version${path}`];

    const server = { name: 'medclass', version: versions().medclass ?? 'unknown', extensions: [] as string[] };
    v2.get('/', async () => server); // with the prefix: GET /v2 and /v2/
    v2.get('/health/live', async () => ({ live: true }));
    v2.get('/health/ready', async () => ({ ready: true }));
    for (const url of both('')) {
      v2.get(url, { schema: { params } }, async (req) => {
        check(req.params as { name: string; version?: string });
        return { name, versions: [VERSION], platform: 'onnxruntime_onnx', inputs, outputs };
      });
    }
    for (const url of both('/ready')) {
      v2.get(url, { schema: { params } }, async (req) => {
        check(req.params as { name: string; version?: string });
        return { name, ready: true };
      });
    }
    for (const url of both('/infer')) {
      const preValidation = async (req: FastifyRequest) => {
        if (Buffer.isBuffer(req.body)) throw new MedclassError('MC_SERVE_UNSUPPORTED_MEDIA_TYPE', 'the binary tensor data extension is not supported; send application/json');
      };
      v2.post(url, { onRequest: res.admission.onRequest, schema: { params, body: jsonSchema(InferRequest, 'input') }, preValidation }, async (req) => {
        check(req.params as { name: string; version?: string });
        const body = InferRequest.parse(req.body);
        if (body.parameters?.binary_data_output === true) throw bad('binary_data_output is not supported; outputs are JSON');
        const known = new Set(inputs.map((t) => t.name));
        for (const t of body.inputs) if (!known.has(t.name)) throw bad(`input '${t.name}' is not an input of '${name}' (inputs: ${[...known].join(', ')})`);
        const take = (t: MetadataTensor) => {
          const got = body.inputs.find((r) => r.name === t.name);
          if (!got) throw bad(`input '${t.name}' is missing (${t.datatype} [${t.shape.join(',')}])`);
          if (got.datatype !== t.datatype) throw bad(`input '${t.name}': datatype ${got.datatype}, the model takes ${t.datatype}`);
          const fits = got.shape.length === t.shape.length && got.shape.every((d, i) => t.shape[i] === -1 || t.shape[i] === d);
          if (!fits) throw bad(`input '${t.name}': expected shape [${t.shape.join(',')}], got [${got.shape.join(',')}]`);
          return { shape: got.shape, data: readFp32(t.name, got.data, got.shape.reduce((a, b) => a * b, 1)) };
        };
        const x = take(inputs[0]!);
        const n = x.shape[0]!;
        if (n < 1 || n > o.maxImages) throw bad(`input '${pre.input}': batch of ${n}; this server takes 1 to ${o.maxImages} per request`);
        const tab = inputs[1] ? take(inputs[1]) : undefined;
        if (tab && tab.shape[0] !== n) throw bad(`input '${pre.tabularInput}': batch of ${tab.shape[0]}, input '${pre.input}' has ${n}`);
        const ttaParam = body.parameters?.tta;
        if (ttaParam !== undefined && typeof ttaParam !== 'boolean') throw bad(`parameter tta must be a boolean, got ${JSON.stringify(ttaParam)}`);
        const tta = ttaParam ?? model.tta;
        const wanted: { name: string; parameters?: Record<string, unknown> }[] = body.outputs ?? outputs.map((t) => ({ name: t.name }));
        for (const w of wanted) {
          if (!outputs.some((t) => t.name === w.name)) throw bad(`output '${w.name}' is not an output of '${name}' (outputs: ${outputs.map((t) => t.name).join(', ')})`);
          if (w.parameters?.binary_data === true) throw bad(`output '${w.name}': binary_data is not supported; outputs are JSON`);
        }
        // the image routes' admission queue and dynamic batcher (the inference worker's session), not a run on this thread
        const logits = await res.batcher.logits(x.data, n, { tta, ...(tab ? { tab: tab.data } : {}) });
        const probs = Float32Array.from(softmax(Float64Array.from(logits), k, model.temperature ?? 1));
        const out = wanted.map((w) => {
          const data = w.name === SERVING_OUTPUTS.logits ? logits : probs;
          const top = w.parameters?.classification;
          if (top !== undefined) {
            if (typeof top !== 'number' || !Number.isInteger(top) || top < 1) throw bad(`output '${w.name}': classification must be a positive integer`);
            const m = Math.min(top, k);
            return { name: w.name, datatype: 'BYTES', shape: [n, m], data: classification(data, n, k, m, model.classes) };
          }
          return { name: w.name, datatype: 'FP32', shape: [n, k], data: Array.from(data) };
        });
        return {
          model_name: name, model_version: VERSION, ...(body.id !== undefined ? { id: body.id } : {}),
          parameters: { temperature: model.temperature ?? 1, tta }, outputs: out,
        };
      });
    }
  }, { prefix: '/v2' });
}
