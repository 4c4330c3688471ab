import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DISCLAIMER } from '../eval/index.js';
import { decodeInputs, explainTensors, predictWith, similarWith, targetIndex, type RunModel } from '../pipeline/index.js';
import { MedclassError } from '../errors.js';
import type { ServeOptions } from './options.js';
import type { ServeResources } from './resources.js';
import {
  ErrorReply, ExplainQuery, ExplainReply, PredictQuery, PredictReply, SimilarQuery, SimilarReply, imagesBody, jsonSchema,
} from './schemas.js';
import { itemHead, readUploads, requireOneReadable } from './uploads.js';

/** Route schema of an image route: its query, the JSON images body (raw image bodies are not schema-checked) and replies. */
function imageRouteSchema(query: z.ZodType, reply: z.ZodType, o: ServeOptions, summary: string, withMeta = false) {
  const error = jsonSchema(ErrorReply);
  return {
    summary,
    querystring: jsonSchema(query, 'input'),
    body: { content: { 'application/json': { schema: jsonSchema(imagesBody(o.maxImages, withMeta), 'input') } } },
    response: { 200: jsonSchema(reply), '4xx': error, '5xx': error },
  };
}

/**
 * Fusion runs take their tabular values from the JSON body's `meta` (MC_DATA_MISSING_META, 400, names what is
 * missing); `meta` sent to an image-only run is a client error too (MC_SERVE_UNEXPECTED_META, 400).
 */
function bodyMeta(body: unknown, model: RunModel): Record<string, string | number | null> | undefined {
  const meta = Buffer.isBuffer(body) ? undefined : (body as { meta?: Record<string, string | number | null> } | undefined)?.meta;
  if (meta !== undefined && !model.tabular) {
    throw new MedclassError('MC_SERVE_UNEXPECTED_META', 'body: meta was sent, but this run is an image-only model and takes no tabular values (GET /api/model: tabular is null)');
  }
  return meta;
}

/**
 * `POST /api/predict`, `/api/explain`, `/api/similar`. Each takes one image as the raw body (`image/*` or
 * `application/octet-stream`) or several as JSON `{images: [{name?, data: base64}]}`, and answers one result per
 * image in request order; an unreadable image carries `error: {code, message}` unless none was readable (400).
 */
export function registerImageRoutes(app: FastifyInstance, res: ServeResources, o: ServeOptions): void {
  const model = res.explainer.model;
  const guard = { maxPixels: o.maxPixels, minSide: o.minSide };
  const batched = res.batcher.batchedModel();
  const onRequest = res.admission.onRequest; // the admission queue decides before the body is read

  app.post('/api/predict', { onRequest, schema: imageRouteSchema(PredictQuery, PredictReply, o, 'label, calibrated probabilities and conformal set per image', true) }, async (req): Promise<PredictReply> => {
    const q = PredictQuery.parse(req.query);
    const up = readUploads(req.body, guard);
    const meta = bodyMeta(req.body, model);
    const attribute = model.tabular !== undefined && q.attribute !== false;
    const operatingPoint = q.operatingPoint ?? o.operatingPoint;
    const preds = await predictWith(batched, up.inputs, { threads: o.threads, attribute, ...(meta ? { meta } : {}), ...(operatingPoint ? { operatingPoint } : {}) }); // decodes on libuv threads, batches the model run
    requireOneReadable(preds);
    return {
      disclaimer: DISCLAIMER,
      results: preds.map((p, i) => (p.error ? { ...itemHead(up, i), error: p.error } : {
        ...itemHead(up, i), label: p.label, probability: p.probabilities[p.label]!, probabilities: p.probabilities, calibrated: p.calibrated,
        ...(p.conformalSet ? { conformalSet: p.conformalSet, conformalLevel: p.conformalLevel! } : {}),
        ...(p.tabularAttribution ? { tabularAttribution: p.tabularAttribution } : {}),
        ...(p.decision ? { decision: { ...p.decision, threshold: Number.isFinite(p.decision.threshold) ? p.decision.threshold : null } } : {}),
        ...(p.uncertainty ? { uncertainty: p.uncertainty } : {}),
      })),
    };
  });

  app.post('/api/explain', { onRequest, schema: imageRouteSchema(ExplainQuery, ExplainReply, o, 'Grad-CAM overlay (PNG data URI) per image', true) }, async (req): Promise<ExplainReply> => {
    const q = ExplainQuery.parse(req.query);
    const target = targetIndex(model, q.class);
    const up = readUploads(req.body, guard);
    const meta = bodyMeta(req.body, model);
    const row = model.tabular || meta ? model.encodeMeta([meta], () => 'explain') : undefined;
    const { entries, ok, x } = await decodeInputs(up.inputs, model.preprocessOptions, 4);
    requireOneReadable(entries);
    const tab = row ? new Float32Array(ok.length * row.length).map((_, i) => row[i % row.length]!) : undefined;
    const ex = await res.queue.run(() => explainTensors(res.explainer, x, ok.length, target, {}, 16, tab));
    const results: ExplainReply['results'] = entries.map((d, i) => ({ ...itemHead(up, i), ...(d.error ? { error: d.error } : {}) }));
    ok.forEach((i, j) => {
      const r = ex[j]!;
      results[i] = {
        ...itemHead(up, i), label: model.classes[r.labelIndex]!, probability: r.probability, explained: model.classes[r.explainedIndex]!,
        overlay: `data:image/png;base64,${Buffer.from(r.png).toString('base64')}`, peak: r.peak,
      };
    });
    return { disclaimer: DISCLAIMER, results };
  });

  app.post('/api/similar', { onRequest, schema: imageRouteSchema(SimilarQuery, SimilarReply, o, 'the k most similar training cases per image', true) }, async (req): Promise<SimilarReply> => {
    const q = SimilarQuery.parse(req.query);
    const retriever = res.retriever;
    if (!retriever) throw new MedclassError('MC_SERVE_NO_INDEX', `no similar-case index: ${res.noIndex ?? 'unavailable'}`);
    const up = readUploads(req.body, guard);
    const meta = bodyMeta(req.body, model);
    const found = await res.queue.run(() => similarWith(retriever, up.inputs, { k: q.k ?? o.k, ...(meta ? { meta } : {}) }));
    requireOneReadable(found);
    return {
      disclaimer: DISCLAIMER,
      results: found.map((r, i) => (r.error ? { ...itemHead(up, i), error: r.error } : {
        ...itemHead(up, i), label: r.label, probability: r.probability,
        similar: r.similar.map((c, rank) => ({ rank: rank + 1, label: c.label, similarity: c.similarity, ...(o.caseIds ? { id: c.id } : {}) })),
      })),
    };
  });
}
