import { z } from 'zod';
import { OPERATING_POINT_PATTERN } from '../eval/index.js';

/**
 * Request and reply shapes of the REST API as zod schemas: the handlers' types come from them, and the routes'
 * JSON schemas (validation by ajv, serialisation by fast-json-stringify) from `jsonSchema`.
 */

/** JSON Schema (draft-07, as fastify's ajv expects) of a zod schema; `io: 'input'` for requests (defaults optional). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** Base64 (optionally a `data:<type>;base64,` URI); whitespace allowed, as MIME line breaks. */
const BASE64 = /^(data:[\w.+-]+\/[\w.+-]+;base64,)?[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** Tabular values of an image + tabular (fusion) run, by metadata column; '' or null = missing. */
export const MetaBody = z.record(z.string().max(128), z.union([z.string().max(256), z.number(), z.null()]))
  .describe("fusion runs: the images' tabular values, every column of tabular.json, e.g. {\"age\": 45, \"sex\": \"male\"}");

/**
 * JSON body of the image routes: one or more images as base64, each with an optional client-side name echoed back;
 * with `withMeta` (predict) also the tabular values a fusion run needs.
 */
export function imagesBody(maxImages: number, withMeta = false) {
  return z.strictObject({
    images: z.array(z.strictObject({
      name: z.string().max(256).optional().describe('echoed back in the reply, never logged'),
      data: z.string().min(1).regex(BASE64, 'must be base64 or a data: URI').describe('image bytes (PNG, JPEG, TIFF, BMP, GIF, WebP) as base64'),
    })).min(1).max(maxImages),
    ...(withMeta ? { meta: MetaBody.optional() } : {}),
  });
}
export type ImagesBody = z.output<ReturnType<typeof imagesBody>>;

export const PredictQuery = z.strictObject({
  attribute: z.boolean().optional().describe('image + tabular runs: include tabularAttribution per image (default true; false saves one model run per tabular column + 1)'),
  operatingPoint: z.union([z.literal('none'), z.string().regex(OPERATING_POINT_PATTERN)]).optional()
    .describe("two-class runs: decide at this operating point (sensitivity:0.95, specificity:0.9, youden; none = no decision); default: the server's"),
});

/** The decision at an operating point: the positive class when its calibrated probability reaches the val-chosen threshold. */
/** Uncertainty of one prediction of an ensemble or MC-dropout run (nats). */
export const UncertaintyReply = z.strictObject({
  method: z.enum(['ensemble', 'mc-dropout']), samples: z.number().int(), entropy: z.number(), mutualInformation: z.number(),
});

export const DecisionReply = z.strictObject({
  operatingPoint: z.string(), label: z.string(), positive: z.boolean(), positiveClass: z.string(), probability: z.number(),
  threshold: z.number().nullable().describe('null: +∞ (no val threshold reached the target; never positive)'),
});

const Rates = z.strictObject({ sensitivity: z.number().nullable(), specificity: z.number().nullable() });
/** The operating point a server decides at by default, with the val and test rates the report gives for it. */
export const OperatingPointReply = z.strictObject({
  spec: z.string(), criterion: z.string(), positiveClass: z.string(), negativeClass: z.string(),
  threshold: z.number().nullable(), source: z.enum(['metrics.json', 'predictions.csv']), val: Rates, test: Rates.nullable(),
});
export const ExplainQuery = z.strictObject({
  class: z.string().min(1).optional().describe("class whose logit is explained (default: each image's predicted class)"),
});
export const SimilarQuery = z.strictObject({
  k: z.number().int().min(1).max(100).optional().describe('similar training cases per image (default: the server\'s k)'),
});

/** `{statusCode, code, error, message}`: every error reply. */
export const ErrorReply = z.strictObject({
  statusCode: z.number().int(),
  code: z.string(),
  error: z.string(),
  message: z.string(),
});
export type ErrorReply = z.output<typeof ErrorReply>;

const ItemError = z.strictObject({ code: z.string(), message: z.string() });
/** Fields every per-image result carries: its position in the request and, when given, the client's name. */
const ItemBase = { index: z.number().int(), name: z.string().optional(), error: ItemError.optional() };
/** What every image reply states: its input, a per-item error or the predicted label and probability. */
const PredictedItem = { ...ItemBase, label: z.string().optional(), probability: z.number().optional() };

const Delta = { deltaLogit: z.number(), deltaProbability: z.number() };
/** Occlusion attribution of a fusion run's tabular values for the predicted class (full row minus occluded row). */
export const TabularAttributionReply = z.strictObject({
  className: z.string(),
  classIndex: z.number().int(),
  logit: z.number(),
  probability: z.number(),
  columns: z.array(z.strictObject({
    column: z.string(), value: z.union([z.number(), z.boolean(), z.null(), z.string()]), missing: z.boolean(), ...Delta,
  })).describe('per column: Δ = with the value − with the value missing (positive = the value pushed toward the class)'),
  imageOnly: z.strictObject({ logit: z.number(), probability: z.number(), ...Delta }).describe('every column missing'),
});

export const PredictReply = z.strictObject({
  disclaimer: z.string(),
  results: z.array(z.strictObject({
    ...PredictedItem,
    probabilities: z.record(z.string(), z.number()).optional(),
    calibrated: z.boolean().optional(),
    conformalSet: z.array(z.string()).optional(),
    conformalLevel: z.number().optional(),
    tabularAttribution: TabularAttributionReply.optional().describe('image + tabular runs: how much each tabular value moved the predicted class'),
    decision: DecisionReply.optional().describe('two-class runs with an operating point: the decision there, besides the arg-max label'),
    uncertainty: UncertaintyReply.optional().describe('ensembles and MC-dropout runs: predictive entropy and mutual information over the members or passes'),
  })),
});
export type PredictReply = z.output<typeof PredictReply>;

export const ExplainReply = z.strictObject({
  disclaimer: z.string(),
  results: z.array(z.strictObject({
    ...PredictedItem,
    explained: z.string().optional(),
    overlay: z.string().optional().describe('data:image/png;base64 URI: the input beside the Grad-CAM heat map blended on it'),
    peak: z.strictObject({ x: z.number(), y: z.number() }).optional(),
  })),
});
export type ExplainReply = z.output<typeof ExplainReply>;

export const SimilarReply = z.strictObject({
  disclaimer: z.string(),
  results: z.array(z.strictObject({
    ...PredictedItem,
    similar: z.array(z.strictObject({ rank: z.number().int(), label: z.string(), similarity: z.number(), id: z.string().optional() })).optional(),
  })),
});
export type SimilarReply = z.output<typeof SimilarReply>;

export const HealthReply = z.strictObject({ status: z.literal('ok'), uptimeSeconds: z.number(), similar: z.boolean() });

const MetricRow = z.strictObject({
  key: z.string(), label: z.string(), value: z.number().nullable(), ci: z.array(z.number().nullable()).optional(), n: z.number(),
  higherIsBetter: z.boolean(), zeroR: z.number().nullable().optional(),
});
export const ModelReply = z.strictObject({
  disclaimer: z.string(),
  name: z.string(),
  arch: z.string().nullable(),
  classes: z.array(z.string()),
  input: z.strictObject({ size: z.number().int(), channels: z.number().int(), fit: z.string(), normalize: z.string(), dims: z.array(z.number().int()) }),
  calibration: z.strictObject({ temperature: z.number().nullable() }),
  tta: z.boolean(),
  uncertainty: z.strictObject({ method: z.enum(['ensemble', 'mc-dropout']), samples: z.number().int() }).nullable().optional().describe('ensembles and MC-dropout runs: /api/predict adds entropy and mutual information'),
  conformal: z.strictObject({ method: z.string(), level: z.number() }).nullable(),
  metrics: z.strictObject({ split: z.string(), n: z.number(), ciLevel: z.number().nullable(), rows: z.array(MetricRow) }).nullable(),
  similar: z.strictObject({ available: z.boolean(), size: z.number().int().optional(), reason: z.string().optional() }),
  /** image + tabular runs: the metadata columns the image routes need in `meta` (categorical ones with their training values) */
  tabular: z.strictObject({
    columns: z.array(z.strictObject({ name: z.string(), kind: z.enum(['numeric', 'categorical']), values: z.array(z.string()).optional() })),
  }).nullable(),
  report: z.boolean(),
  operatingPoint: OperatingPointReply.nullable().describe("the default operating point's threshold and rates (null: arg-max only)"),
  limits: z.strictObject({ bodyLimit: z.number().int(), maxImages: z.number().int(), k: z.number().int() }),
});
export type ModelReply = z.output<typeof ModelReply>;
