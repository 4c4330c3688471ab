import { z } from 'zod';
import { ImageGuardOptions } from '../data/index.js';
import { OPERATING_POINT_PATTERN } from '../eval/index.js';

/** Options of `buildServer` (and `medclass serve`): resources and limits; defaults live here only. */
export const ServeOptions = z.strictObject({
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads per session (0 = all cores)'),
  bodyLimit: z.number().int().min(1024).default(16 * 1024 * 1024).describe('largest request body in bytes (413 beyond)'),
  maxImages: z.number().int().min(1).max(256).default(16).describe('most images in one request (per-request image count; 400 beyond)'),
  maxQueue: z.number().int().min(1).default(32)
    .describe('admission queue: image requests in the server at once (reading, decoding, waiting for or in a batch); one more answers 503 MC_SERVE_BUSY with Retry-After before its body is read'),
  busyDelayMs: z.number().int().min(0).max(10_000).default(250)
    .describe('a refused request gets its 503 after this many ms (a timer; the body is never read), so clients that retry at once without honouring Retry-After cannot spend the CPU on refusals'),
  maxBatch: z.number().int().min(1).max(1024).default(8).describe('dynamic batching: most images gathered from concurrent predict requests into one model run'),
  maxDelayMs: z.number().min(0).max(1000).default(2)
    .describe('dynamic batching: longest a prediction waits for others to fill its batch, in ms (0 = run at once when the model is idle)'),
  int8: z.boolean().default(false)
    .describe('predict with model.int8.onnx (medclass export --int8) in the inference worker; Grad-CAM and similar cases stay on the float model'),
  inferenceWorker: z.boolean().default(true)
    .describe('run predictions in a worker thread with its own model session (onnxruntime runs block their thread, so /api/health and refusals would wait for each batch)'),
  inferenceNice: z.number().int().min(0).max(19).default(5)
    .describe("Linux: niceness added to the inference worker's thread and the onnxruntime threads it starts, so under overload the HTTP thread (health, model info, refusals) is scheduled first; 0 = none"),
  k: z.number().int().min(1).max(100).default(5).describe('similar training cases per image unless the request asks for k'),
  caseIds: z.boolean().default(false).describe('include training case ids (paths relative to the dataset) in similar-case replies'),
  logger: z.boolean().default(false).describe('log requests (method, route, status, time; never file names or image bytes)'),
  maxPixels: ImageGuardOptions.shape.maxPixels.describe('largest width × height of an uploaded image, read from its header before decoding (413 MC_DATA_TOO_MANY_PIXELS beyond)'),
  minSide: ImageGuardOptions.shape.minSide.describe('smallest width and height of an uploaded image in pixels (422 MC_DATA_IMAGE_TOO_SMALL below)'),
  operatingPoint: z.union([z.literal('none'), z.string().regex(OPERATING_POINT_PATTERN, 'expected sensitivity:<target>, specificity:<target>, youden or none')]).optional()
    .describe("two-class runs: the operating point predictions decide at (sensitivity:0.95, specificity:0.9, youden, none); default: the run's eval.operatingPoint"),
  private: z.boolean().default(false)
    .describe('private mode: the page runs model.onnx and the Grad-CAM graph in the browser (onnxruntime-web, WASM); the server only ships static files and has no image routes'),
  allowedHosts: z.array(z.string().min(1).max(253)).default([])
    .describe("Host header names accepted besides localhost, 127.0.0.1, [::1] and the server's own address (any port); '*' accepts every name (no DNS-rebinding guard); others get 403 MC_SERVE_BAD_HOST"),
});
export type ServeOptions = z.output<typeof ServeOptions>;
export type ServeOptionsInput = z.input<typeof ServeOptions>;

/** Where `medclass serve` listens. */
export const ListenOptions = z.strictObject({
  port: z.number().int().min(0).max(65535).default(8080).describe('TCP port (0 = any free port)'),
  host: z.string().min(1).default('127.0.0.1').describe('interface to bind (0.0.0.0 exposes the server to the network)'),
});
export type ListenOptions = z.output<typeof ListenOptions>;
