import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { installErrorHandlers } from './http-errors.js';
import { installHostCheck } from './host-check.js';
import { registerImageRoutes } from './image-routes.js';
import { registerKserveRoutes } from './kserve-routes.js';
import { ServeOptions, type ServeOptionsInput } from './options.js';
import { registerPageRoutes } from './page-routes.js';
import { openResources } from './resources.js';
import { registerPrivateRoutes } from './private-mode.js';

/** Where the request log goes when `logger` is on (the CLI passes stderr). */
export interface ServeLogStream {
  write(line: string): unknown;
}

/** Log lines name the method, route pattern, status and time only: no URL query, no client address, no headers, no body. */
const LOG_SERIALIZERS = {
  req: (req: FastifyRequest) => ({ method: req.method, route: req.routeOptions?.url ?? 'unmatched', contentLength: req.headers['content-length'] }),
  res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
};

/**
 * The REST API and web app for one run directory, as a fastify instance that does not listen yet (call `listen`,
 * or `inject` in tests). The run's sessions (model, Grad-CAM, similar-case embedding when `index/` exists) open once,
 * while the instance gets ready (`ready()`/`listen()` reject with the run directory's MedclassError), and are
 * released by `close()`. Every error answers `{statusCode, code, error, message}`; a request whose Host header is not
 * a loopback name, the server's own address or in `allowedHosts` gets 403 MC_SERVE_BAD_HOST. Uploaded images pass the
 * image guard (`maxPixels` from the header before decoding, `minSide`). Research software, not a diagnostic device.
 *
 * Routes: `GET /` (web app), `GET /report`, `GET /api/health`, `GET /api/model`, `POST /api/predict?attribute=`
 * (fusion runs: per-column tabular attribution, on by default), `POST /api/explain?class=`, `POST /api/similar?k=`;
 * the POST routes take raw image bytes or JSON `{images: [{name?, data: base64}], meta?}`. With `private`, only the
 * static files of the in-browser web app (`registerPrivateRoutes`): no route accepts an image.
 *
 * @example
 * const app = buildServer('runs/pneumonia', { threads: 2 });
 * await app.listen({ port: 8080, host: '127.0.0.1' });
 */
export function buildServer(runDir: string, options: ServeOptionsInput = {}, log: { stream?: ServeLogStream } = {}): FastifyInstance {
  const o = ServeOptions.parse(options);
  const app = Fastify({
    bodyLimit: o.bodyLimit,
    logger: o.logger ? { level: 'info', serializers: LOG_SERIALIZERS, ...(log.stream ? { stream: log.stream } : {}) } : false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    // opening the sessions, the index and the inference worker (tsx from source) took over fastify's 10 s default
    // on a busy 2-core machine (load 13); a run that cannot open fails with its own error, not this timeout
    pluginTimeout: 180_000,
  });
  installErrorHandlers(app);
  installHostCheck(app, o.allowedHosts);
  app.removeContentTypeParser('text/plain');
  for (const type of ['application/octet-stream', 'application/dicom', /^image\/[\w.+-]+$/]) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  }
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
  });
  if (o.private) {
    app.register(async (scope) => { await registerPrivateRoutes(scope, runDir, o); });
    return app;
  }
  app.register(async (scope) => {
    const res = await openResources(runDir, o);
    scope.addHook('onClose', async () => { await res.close(); });
    registerPageRoutes(scope, res);
    registerImageRoutes(scope, res, o);
    registerKserveRoutes(scope, res, o);
  });
  return app;
}
