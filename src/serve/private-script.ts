/**
 * The private-mode page's module script (`GET /private.js`): decodes the chosen image in the browser, preprocesses
 * it with the arithmetic of `src/data/resample.ts` and `preprocessImage` (a test compares the two), runs model.onnx
 * and the exported Grad-CAM graph with onnxruntime-web (WASM, loaded from this server) and ranks the index's
 * embeddings for similar cases. It sends nothing but GET requests for static files: the image stays in the page.
 * Plain ES2020 without template literals, so it sits in this TypeScript string unchanged; text enters the DOM
 * through `textContent` only.
 */
export const PRIVATE_SCRIPT = String.raw`
import * as ort from '/ort/ort.wasm.bundle.min.mjs';

ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
const pct = (v) => (100 * v).toFixed(1) + ' %';
// What the page computed last, for inspection (and the browser test): never sent anywhere.
const state = { timing: { start: performance.now() } };
globalThis.medclassPrivate = state;

// ---- preprocessing: the same arithmetic as src/data/resample.ts and preprocessImage (8-bit levels after the resize) ----
function toPlanes(img, channels) {
  const w = img.width, h = img.height, c = img.channels, data = img.data, n = w * h;
  const hasAlpha = c === 2 || c === 4;
  const colour = hasAlpha ? c - 1 : c;
  if (channels === 1 && colour === 3) {
    const g = new Float32Array(n);
    for (let i = 0, p = 0; i < n; i++, p += c) {
      const a = hasAlpha ? data[p + 3] / 255 : 1;
      g[i] = ((19595 * data[p] + 38470 * data[p + 1] + 7471 * data[p + 2] + 0x8000) >> 16) * a;
    }
    return [g];
  }
  const src = [];
  for (let k = 0; k < colour; k++) {
    const plane = new Float32Array(n);
    if (hasAlpha) for (let i = 0, p = k; i < n; i++, p += c) plane[i] = data[p] * (data[p - k + c - 1] / 255);
    else for (let i = 0, p = k; i < n; i++, p += c) plane[i] = data[p];
    src.push(plane);
  }
  return channels === 3 && colour === 1 ? [src[0], src[0], src[0]] : src;
}
function areaWeights(n, tn) {
  const scale = n / tn, stride = Math.ceil(scale) + 1;
  const start = new Int32Array(tn), count = new Int32Array(tn), w = new Float32Array(tn * stride);
  for (let t = 0; t < tn; t++) {
    const x0 = t * scale, x1 = x0 + scale, first = Math.floor(x0);
    start[t] = first;
    let k = 0;
    for (let x = first; x < Math.ceil(x1) && x < n; x++, k++) w[t * stride + k] = (Math.min(x + 1, x1) - Math.max(x, x0)) / scale;
    count[t] = k;
  }
  return { start, count, w, stride };
}
function resampleArea(g, w, h, tw, th) {
  const wx = areaWeights(w, tw), wy = areaWeights(h, th);
  const mid = new Float32Array(tw * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let t = 0; t < tw; t++) {
      let sum = 0;
      const s0 = row + wx.start[t], o = t * wx.stride;
      for (let k = 0; k < wx.count[t]; k++) sum += g[s0 + k] * wx.w[o + k];
      mid[y * tw + t] = sum;
    }
  }
  const out = new Float32Array(tw * th);
  for (let t = 0; t < th; t++) {
    const o = t * wy.stride, y0 = wy.start[t];
    for (let k = 0; k < wy.count[t]; k++) {
      const wk = wy.w[o + k], src = (y0 + k) * tw, dst = t * tw;
      for (let x = 0; x < tw; x++) out[dst + x] += mid[src + x] * wk;
    }
  }
  return out;
}
function resampleBilinear(g, w, h, tw, th) {
  const out = new Float32Array(tw * th), sx = w / tw, sy = h / th;
  for (let ty = 0; ty < th; ty++) {
    const fy = Math.min(Math.max((ty + 0.5) * sy - 0.5, 0), h - 1), y0 = Math.floor(fy), y1 = Math.min(y0 + 1, h - 1), dy = fy - y0;
    for (let tx = 0; tx < tw; tx++) {
      const fx = Math.min(Math.max((tx + 0.5) * sx - 0.5, 0), w - 1), x0 = Math.floor(fx), x1 = Math.min(x0 + 1, w - 1), dx = fx - x0;
      const top = g[y0 * w + x0] * (1 - dx) + g[y0 * w + x1] * dx;
      const bot = g[y1 * w + x0] * (1 - dx) + g[y1 * w + x1] * dx;
      out[ty * tw + tx] = top * (1 - dy) + bot * dy;
    }
  }
  return out;
}
function resamplePlane(g, w, h, tw, th) {
  if (tw === w && th === h) return g;
  return tw <= w && th <= h ? resampleArea(g, w, h, tw, th) : resampleBilinear(g, w, h, tw, th);
}
function placement(w, h, size, fit) {
  if (fit === 'squash') return { x: 0, y: 0, w: size, h: size };
  const s = Math.min(size / w, size / h);
  const nw = Math.max(1, Math.min(size, Math.round(w * s))), nh = Math.max(1, Math.min(size, Math.round(h * s)));
  return { x: Math.floor((size - nw) / 2), y: Math.floor((size - nh) / 2), w: nw, h: nh };
}
function preprocess(img, pre) {
  const size = pre.size, channels = pre.channels, planes = toPlanes(img, channels), at = placement(img.width, img.height, size, pre.fit);
  const plane = size * size, dst = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    const m = pre.mean[c], s = 1 / pre.std[c], base = c * plane;
    const small = resamplePlane(planes[c], img.width, img.height, at.w, at.h);
    if (pre.fit === 'letterbox') dst.fill((0 - m) * s, base, base + plane);
    for (let y = 0; y < at.h; y++) {
      const row = base + (at.y + y) * size + at.x;
      for (let x = 0; x < at.w; x++) dst[row + x] = (Math.min(255, Math.max(0, Math.round(small[y * at.w + x]))) / 255 - m) * s;
    }
  }
  return dst;
}

// ---- decoding: pixels as the file holds them (no colour management); grey when every pixel has R = G = B ----
async function decode(file) {
  const bmp = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  const canvas = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bmp, 0, 0);
  const rgba = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
  const n = bmp.width * bmp.height;
  let grey = true, opaque = true;
  for (let i = 0; i < n; i++) {
    const p = 4 * i;
    if (rgba[p] !== rgba[p + 1] || rgba[p] !== rgba[p + 2]) grey = false;
    if (rgba[p + 3] !== 255) opaque = false;
  }
  const c = grey ? (opaque ? 1 : 2) : (opaque ? 3 : 4);
  const data = new Uint8Array(n * c);
  for (let i = 0; i < n; i++) {
    const p = 4 * i, q = c * i;
    if (grey) { data[q] = rgba[p]; if (!opaque) data[q + 1] = rgba[p + 3]; }
    else { data[q] = rgba[p]; data[q + 1] = rgba[p + 1]; data[q + 2] = rgba[p + 2]; if (!opaque) data[q + 3] = rgba[p + 3]; }
  }
  return { width: bmp.width, height: bmp.height, channels: c, data, bitmap: bmp };
}

// ---- model runs ----
function softmax(logits, T) {
  let m = -Infinity;
  for (const z of logits) m = Math.max(m, z / T);
  const e = Array.from(logits, (z) => Math.exp(z / T - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
function hflip(x, c, size) {
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < size; y++) for (let xx = 0; xx < size; xx++) out[(ch * size + y) * size + xx] = x[(ch * size + y) * size + size - 1 - xx];
  return out;
}
async function logitsOf(x) {
  const m = state.manifest, dims = [1, m.preprocess.channels, m.preprocess.size, m.preprocess.size];
  const run = async (data) => Float32Array.from((await state.model.run({ [m.model.input]: new ort.Tensor('float32', data, dims) }))[m.model.output].data);
  const a = await run(x);
  if (m.model.tta) {
    const b = await run(hflip(x, dims[1], dims[2]));
    for (let i = 0; i < a.length; i++) a[i] = (a[i] + b[i]) / 2;
  }
  return a;
}
async function camOf(x) {
  const m = state.manifest, cam = m.cam, dims = [1, m.preprocess.channels, m.preprocess.size, m.preprocess.size];
  if (!state.cam) state.cam = await ort.InferenceSession.create('/model/cam.onnx', { executionProviders: ['wasm'] });
  const r = await state.cam.run({ [cam.input]: new ort.Tensor('float32', x, dims), [cam.target]: new ort.Tensor('int64', BigInt64Array.from([-1n]), [1]) });
  const raw = Float32Array.from(r[cam.map].data);
  const up = resampleBilinear(raw, cam.featureDims[2], cam.featureDims[1], dims[3], dims[2]);
  let lo = Infinity, hi = -Infinity;
  for (const v of up) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo, norm = new Float32Array(up.length);
  if (span > 0 && Number.isFinite(span)) for (let i = 0; i < up.length; i++) norm[i] = (up[i] - lo) / span;
  return { map: norm, width: dims[3], height: dims[2], explained: Number(r[cam.selected].data[0]), embedding: cam.embedding ? Float32Array.from(r[cam.embedding].data) : null };
}
function similar(embedding) {
  const s = state.manifest.similar;
  if (!s.available || !state.vectors) return null;
  let norm = 0;
  for (const v of embedding) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  const scores = [];
  for (let i = 0; i < s.count; i++) {
    let dot = 0;
    for (let d = 0; d < s.dim; d++) dot += state.vectors[i * s.dim + d] * embedding[d];
    scores.push({ index: i, similarity: dot / norm });
  }
  scores.sort((a, b) => b.similarity - a.similarity || a.index - b.index);
  return scores.slice(0, s.k).map((c, r) => ({ rank: r + 1, label: s.labels[c.index], similarity: c.similarity, id: s.ids ? s.ids[c.index] : undefined }));
}

// ---- rendering ----
function renderPrediction(p) {
  const m = state.manifest;
  const best = p.indexOf(Math.max(...p));
  $('prediction').textContent = m.classes[best] + ' — ' + pct(p[best]);
  // LAC conformal set from the q̂ of metrics.json: the classes whose score 1 − p is ≤ q̂ (q̂ null = +∞)
  if (m.conformal) {
    const set = m.classes.filter((c, k) => m.conformal.qhat[k] === null || 1 - p[k] <= m.conformal.qhat[k]);
    state.last.conformalSet = set;
    $('conformal').textContent = Math.round(100 * m.conformal.level) + ' % conformal set: ' + (set.length ? '{' + set.join(', ') + '}' : 'empty');
  }
  const op = m.operatingPoint;
  if (op) {
    const q = p[m.classes.indexOf(op.positiveClass)];
    const positive = op.threshold !== null && q >= op.threshold;
    state.last.decision = { operatingPoint: op.spec, label: positive ? op.positiveClass : op.negativeClass, positive, probability: q, threshold: op.threshold };
    $('decision').textContent = 'At ' + op.spec + ' (threshold ' + (op.threshold === null ? '∞' : op.threshold.toFixed(4)) + ' on the calibrated ' + op.positiveClass + ' probability): ' +
      (positive ? op.positiveClass : op.negativeClass) + (op.test && op.test.sensitivity !== null ? ' — test sensitivity ' + op.test.sensitivity.toFixed(3) + ', specificity ' + op.test.specificity.toFixed(3) : '');
  }
  const bars = $('bars');
  bars.textContent = '';
  m.classes.forEach((c, k) => {
    const row = el('div', 'bar-row' + (k === best ? ' top' : ''));
    row.appendChild(el('span', 'bar-label', c));
    const track = el('span', 'bar-track'), fill = el('span', 'bar-fill');
    fill.style.width = (100 * p[k]).toFixed(2) + '%';
    track.appendChild(fill);
    row.appendChild(track);
    row.appendChild(el('span', 'bar-value', pct(p[k])));
    bars.appendChild(row);
  });
}
function renderCam(img, cam) {
  const lut = state.manifest.colormap, canvas = $('overlay'), w = cam.width, h = cam.height;
  canvas.width = 2 * w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img.bitmap, 0, 0, w, h);
  const base = ctx.getImageData(0, 0, w, h), out = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = Math.min(255, Math.max(0, Math.round(cam.map[i] * 255)));
    for (let k = 0; k < 3; k++) out.data[4 * i + k] = Math.round(0.55 * base.data[4 * i + k] + 0.45 * lut[3 * v + k]);
    out.data[4 * i + 3] = 255;
  }
  ctx.putImageData(out, w, 0);
  canvas.hidden = false;
  $('overlay-note').textContent = 'Left: the input; right: Grad-CAM for class ' + state.manifest.classes[cam.explained] + ' (computed in this browser).';
}
function renderSimilar(list) {
  const body = $('similar-body');
  body.textContent = '';
  if (!list) { $('similar-note').textContent = state.manifest.similar.reason || 'No similar-case index for this run.'; return; }
  list.forEach((c) => {
    const tr = el('tr');
    tr.appendChild(el('td', 'num', String(c.rank)));
    tr.appendChild(el('td', '', c.label));
    tr.appendChild(el('td', 'num', c.similarity.toFixed(3)));
    tr.appendChild(el('td', '', c.id === undefined ? '' : c.id));
    body.appendChild(tr);
  });
  $('similar-table').hidden = false;
}

async function analyse(file) {
  if (!file || !state.manifest) return;
  $('error').hidden = true;
  $('file-name').textContent = file.name;
  $('prediction').textContent = 'Classifying in this browser…';
  try {
    const t0 = performance.now();
    const img = await decode(file);
    const x = preprocess(img, state.manifest.preprocess);
    const logits = await logitsOf(x);
    const probabilities = softmax(logits, state.manifest.model.temperature || 1);
    state.last = { file: file.name, x, logits: Array.from(logits), probabilities, predictMs: performance.now() - t0 };
    if (state.timing.firstPrediction === undefined) state.timing.firstPrediction = performance.now();
    renderPrediction(probabilities);
    $('overlay-note').textContent = 'Computing Grad-CAM in this browser…';
    const cam = await camOf(x);
    state.last.cam = Array.from(cam.map);
    state.last.explained = cam.explained;
    renderCam(img, cam);
    const list = cam.embedding ? similar(cam.embedding) : null;
    state.last.similar = list;
    renderSimilar(list);
    state.last.done = true;
  } catch (e) {
    $('error').hidden = false;
    $('error').textContent = String(e && e.message || e);
    state.last = { error: String(e && e.message || e), done: true };
  }
}

async function init() {
  const m = await (await fetch('/model/manifest.json')).json();
  state.manifest = m;
  $('run-name').textContent = m.name;
  $('model-classes').textContent = m.classes.join(', ');
  state.model = await ort.InferenceSession.create('/model/model.onnx', { executionProviders: ['wasm'] });
  if (m.similar.available) state.vectors = new Float32Array(await (await fetch('/model/similar.f32')).arrayBuffer());
  state.timing.modelReady = performance.now();
  $('status').textContent = 'Model loaded in this browser (onnxruntime-web, WASM). Images you choose are processed here and never uploaded.';
  $('file').disabled = false;
}

$('file').addEventListener('change', function () { analyse(this.files[0]); });
const drop = $('drop');
['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); }));
['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove('over'); }));
drop.addEventListener('drop', (e) => analyse(e.dataTransfer.files[0]));
init().catch((e) => { $('error').hidden = false; $('error').textContent = 'Could not load the model: ' + String(e && e.message || e); state.initError = String(e); });
`;
