import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { createReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { normalizationStats } from '../data/index.js';
import { DISCLAIMER } from '../eval/index.js';
import { colormapTable, exportCamGraph } from '../explain/index.js';
import { RunModel, openRetriever } from '../pipeline/index.js';
import { openRunDir } from '../run/index.js';
import { MedclassError, isMedclassError } from '../errors.js';
import type { ServeOptions } from './options.js';
import { PRIVATE_SCRIPT } from './private-script.js';

/** The onnxruntime-web files the private page loads, served from this server's node_modules (no CDN). */
export const ORT_WEB_FILES = ['ort.wasm.bundle.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'] as const;

const STYLE = `
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: #1d2433; background: #f5f7fb; }
header { display: flex; gap: 1rem; align-items: baseline; padding: .8rem 1.5rem; background: #fff; border-bottom: 1px solid #d9dee8; }
header h1 { font-size: 1.15rem; margin: 0; } .run { color: #5b6478; }
.banner { margin: 0; padding: .6rem 1.5rem; background: #fff1d6; color: #8a3b00; font-weight: 600; }
.private { margin: 0; padding: .5rem 1.5rem; background: #e7f4ea; color: #1d5b2c; }
main { max-width: 1100px; margin: 1.2rem auto; padding: 0 1rem; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
.card { background: #fff; border: 1px solid #d9dee8; border-radius: 8px; padding: 1rem 1.2rem; } .card h2 { font-size: 1rem; margin: 0 0 .6rem; }
.wide { grid-column: 1 / -1; }
#drop { border: 2px dashed #9fb0cf; border-radius: 8px; padding: 1.4rem; text-align: center; } #drop.over { border-color: #2f5fb3; }
#prediction { font-size: 1.5rem; font-weight: 650; margin: 0 0 .2rem; } .note, #decision, #status { color: #5b6478; font-size: .9rem; }
.bar-row { display: grid; grid-template-columns: minmax(60px, 30%) 1fr 4.5rem; gap: .5rem; align-items: center; margin: .25rem 0; }
.bar-track { height: 14px; background: #e9edf4; border-radius: 7px; overflow: hidden; } .bar-fill { display: block; height: 100%; background: #8ea6cf; }
.top .bar-fill { background: #2f5fb3; } .bar-value { text-align: right; }
#overlay { width: 100%; max-width: 520px; image-rendering: pixelated; border: 1px solid #d9dee8; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; } th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid #d9dee8; } .num { text-align: right; }
.error { color: #a11; background: #fdecec; border-radius: 6px; padding: .5rem .7rem; }
footer { text-align: center; padding: 1rem; }
`;

const BODY = `
<header><h1>medclass</h1><span class="run" id="run-name"></span><span class="run">private mode</span></header>
<p class="banner" role="note">Research software, not a diagnostic device. Predictions, heat maps and similar cases are for research only and must not guide the care of any patient.</p>
<p class="private" id="status">Loading the model into this browser…</p>
<main>
  <section class="card wide"><div id="drop">Drop an image here, or choose one: <input id="file" type="file" accept="image/png,image/jpeg,image/webp,image/gif,image/bmp" disabled> <span id="file-name"></span></div>
  <p class="error" id="error" hidden></p></section>
  <section class="card"><h2>Prediction</h2><p id="prediction"></p><p class="note" id="conformal"></p><p id="decision"></p><div id="bars"></div><p class="note">Classes: <span id="model-classes"></span>. Calibrated probabilities (temperature scaling).</p></section>
  <section class="card"><h2>Grad-CAM</h2><canvas id="overlay" hidden></canvas><p class="note" id="overlay-note"></p></section>
  <section class="card"><h2>Similar training cases</h2><table id="similar-table" hidden><thead><tr><th class="num">#</th><th>label</th><th class="num">cosine similarity</th><th>case</th></tr></thead><tbody id="similar-body"></tbody></table><p class="note" id="similar-note"></p></section>
</main>
<footer class="note">medclass private mode · the image is decoded, classified and explained in this page; nothing is uploaded</footer>
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/**
 * The private page and its Content-Security-Policy: scripts only from this origin plus 'wasm-unsafe-eval' (compiling
 * onnxruntime's WebAssembly; no string eval), the inline style by hash, requests only to this origin, no forms.
 */
export function privatePage(): { html: string; csp: string } {
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>medclass private mode — research software, not a diagnostic device</title><style>${STYLE}</style></head>
<body>${BODY}<script type="module" src="/private.js"></script></body></html>\n`;
  const csp = [
    "default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", `style-src ${sha256(STYLE)}`, 'img-src data: blob:',
    "connect-src 'self'", "worker-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

/** The folder of onnxruntime-web's browser builds in this install. */
export function ortWebDir(): string {
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

/** What `/model/manifest.json` tells the page: preprocessing, names, calibration, operating point, CAM spec, similar cases. */
async function privateManifest(runDir: string, o: ServeOptions, camSpec: ReturnType<typeof exportCamGraph>) {
  const model = await RunModel.open(runDir, { threads: 1 });
  try {
    if (model.tabular) throw new MedclassError('MC_SERVE_PRIVATE_UNSUPPORTED', 'private mode runs image-only models; this run also needs tabular values', { hint: 'serve it without --private' });
    const pre = model.preprocess;
    const { mean, std } = normalizationStats(pre.normalize, pre.channels as 1 | 3);
    const op = model.chosenOperatingPoint(o.operatingPoint);
    const lac = model.conformal('lac'); // q̂ per class; JSON null = +∞ (every class in the set)
    let similar: Record<string, unknown> = { available: false, reason: 'no similar-case index for this run (medclass index --run DIR)' };
    let vectors: Float32Array | undefined;
    if (camSpec.embedding) {
      try {
        const r = await openRetriever(runDir, { threads: 1 });
        const ix = r.index;
        await r.dispose();
        vectors = ix.vectors;
        similar = { available: true, count: ix.size, dim: ix.dim, k: o.k, labels: ix.items.map((it) => it.label), ...(o.caseIds ? { ids: ix.items.map((it) => it.id) } : {}) };
      } catch (e) {
        if (!isMedclassError(e) || !e.code.startsWith('MC_RETRIEVAL_')) throw e;
        similar = { available: false, reason: `${e.code}: run medclass index --run DIR, then restart the server` };
      }
    }
    const manifest = {
      disclaimer: DISCLAIMER, name: basename(runDir.replace(/[\\/]+$/, '')) || 'run', classes: [...model.classes],
      preprocess: { size: pre.size, channels: pre.channels, fit: pre.fit, mean: [...mean], std: [...std] },
      model: { input: pre.input, output: pre.output, temperature: model.temperature, tta: model.tta },
      cam: { input: camSpec.input, target: camSpec.target, map: camSpec.map, selected: camSpec.selected, embedding: camSpec.embedding ?? null, featureDims: camSpec.featureDims, layer: camSpec.layer },
      operatingPoint: op ? { spec: op.spec, positiveClass: op.positiveClass, negativeClass: op.negativeClass, threshold: Number.isFinite(op.threshold) ? op.threshold : null, test: op.test } : null,
      conformal: lac ? { method: 'lac', level: 1 - lac.alpha, qhat: Array.from(lac.qhat, (q) => (Number.isFinite(q) ? q : null)) } : null,
      colormap: Array.from(colormapTable('inferno')),
      similar,
    };
    return { manifest, vectors };
  } finally {
    await model.dispose();
  }
}

/**
 * Private mode (`medclass serve --private`): the server ships only static files — the page, its script,
 * onnxruntime-web from node_modules, model.onnx, the exported Grad-CAM graph, a manifest and (when the run has an
 * index) the normalised training embeddings with their labels (case ids only with `caseIds`; never images) — and
 * has no route that accepts an image. The page classifies and explains in the browser (see `PRIVATE_SCRIPT`).
 */
export async function registerPrivateRoutes(app: FastifyInstance, runDir: string, o: ServeOptions): Promise<void> {
  const run = openRunDir(runDir);
  const modelBytes = run.modelBytes();
  const cam = exportCamGraph(modelBytes);
  const { manifest, vectors } = await privateManifest(runDir, o, cam);
  const page = privatePage();
  const ortDir = ortWebDir();
  const bytes = (b: Uint8Array | Float32Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

  app.get('/', async (_req, reply) => reply.header('content-security-policy', page.csp).header('x-frame-options', 'DENY').type('text/html; charset=utf-8').send(page.html));
  app.get('/private.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(PRIVATE_SCRIPT));
  for (const f of ORT_WEB_FILES) {
    app.get(`/ort/${f}`, async (_req, reply) => reply.type(f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript; charset=utf-8').send(createReadStream(join(ortDir, f))));
  }
  app.get('/model/manifest.json', async () => manifest);
  app.get('/model/model.onnx', async (_req, reply) => reply.type('application/octet-stream').send(bytes(modelBytes)));
  app.get('/model/cam.onnx', async (_req, reply) => reply.type('application/octet-stream').send(bytes(cam.bytes)));
  if (vectors) app.get('/model/similar.f32', async (_req, reply) => reply.type('application/octet-stream').send(bytes(vectors)));
  const startedAt = performance.now();
  app.get('/api/health', async () => ({ status: 'ok', mode: 'private', uptimeSeconds: (performance.now() - startedAt) / 1000 }));
}
