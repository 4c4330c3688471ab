import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { MedclassError } from '../errors.js';
import type { ServeResources } from './resources.js';
import { ErrorReply, HealthReply, ModelReply, jsonSchema } from './schemas.js';
import { webApp } from './web-app.js';

/** `GET /api/health`, `GET /api/model`, `GET /` (the web app) and `GET /report` (the run's report.html). */
export function registerPageRoutes(app: FastifyInstance, res: ServeResources): void {
  const error = jsonSchema(ErrorReply);
  const page = webApp();

  app.get('/api/health', { schema: { summary: 'liveness; whether similar cases are available', response: { 200: jsonSchema(HealthReply) } } }, async () => ({
    status: 'ok' as const, uptimeSeconds: (performance.now() - res.startedAt) / 1000, similar: res.retriever !== undefined,
  }));

  app.get('/api/model', { schema: { summary: 'classes, input, calibration, test metrics with CIs', response: { 200: jsonSchema(ModelReply), '5xx': error } } }, async () => res.model());

  app.get('/', async (_req, reply) => reply
    .header('content-security-policy', page.csp)
    .header('x-frame-options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(page.html));

  // report.html is self-contained (inline SVG and data: images); it is read per request, so a report written after start shows.
  app.get('/report', { schema: { response: { '4xx': error } } }, async (_req, reply) => {
    const file = join(res.runDir, 'report.html');
    if (!existsSync(file)) throw new MedclassError('MC_SERVE_NO_REPORT', 'the run directory has no report.html; write it with medclass report --run DIR');
    return reply
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
      .type('text/html; charset=utf-8')
      .send(await readFile(file));
  });
}
