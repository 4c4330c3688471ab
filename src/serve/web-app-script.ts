/**
 * The web app's script (inline in `GET /`, allowed by its hash in the page's CSP). Plain ES2017 with no template
 * literals, so it sits in this TypeScript string unchanged. Text goes into the DOM through `textContent` only:
 * class names and messages never become HTML.
 */
export const WEB_APP_SCRIPT = String.raw`
'use strict';
var $ = function (id) { return document.getElementById(id); };
function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function pct(v) { return (100 * v).toFixed(1) + ' %'; }
function num(v) { return v === null || v === undefined ? 'n/a' : v.toFixed(3); }
var state = { model: null, preview: null, file: null };

function showError(where, e) {
  var box = $(where);
  box.hidden = false;
  box.textContent = e && e.code ? e.code + ': ' + e.message : String(e && e.message || e);
}

// Image + tabular runs: the form's values go with the image as JSON {images: [{data}], meta}; other runs send raw bytes.
function metaValues() {
  var meta = {};
  state.model.tabular.columns.forEach(function (c) { meta[c.name] = $('meta-' + c.name).value; });
  return meta;
}

function asDataUrl(file) {
  return new Promise(function (ok, fail) { var r = new FileReader(); r.onload = function () { ok(r.result); }; r.onerror = function () { fail(r.error); }; r.readAsDataURL(file); });
}

function post(path, file) {
  var tabular = state.model && state.model.tabular;
  var request = tabular
    ? asDataUrl(file).then(function (data) { return { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: [{ data: data }], meta: metaValues() }) }; })
    : Promise.resolve({ headers: { 'content-type': 'application/octet-stream' }, body: file });
  return request
    .then(function (req) { return fetch(path, { method: 'POST', headers: req.headers, body: req.body }); })
    .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw j; return j; }); })
    .then(function (j) { var r = j.results[0]; if (r.error) throw r.error; return r; });
}

function renderMetaForm(t) {
  var box = $('meta-fields');
  box.textContent = '';
  t.columns.forEach(function (c) {
    var label = el('label', '', c.name);
    var input;
    if (c.kind === 'numeric') { input = el('input'); input.type = 'number'; input.step = 'any'; }
    else {
      input = el('select');
      var none = el('option', '', '(unknown)'); none.value = ''; input.appendChild(none);
      c.values.forEach(function (v) { var o = el('option', '', v); o.value = v; input.appendChild(o); });
    }
    input.id = 'meta-' + c.name;
    input.addEventListener('change', function () { if (state.file) analyse(state.file); });
    label.appendChild(input);
    box.appendChild(label);
  });
  $('meta').hidden = false;
}

function renderModel(m) {
  state.model = m;
  $('run-name').textContent = m.name + (m.arch ? ' · ' + m.arch : '');
  $('model-classes').textContent = m.classes.join(', ');
  $('model-input').textContent = m.input.size + ' × ' + m.input.size + ' px, ' + (m.input.channels === 1 ? 'grey' : 'RGB') + ', ' + m.input.fit + ', normalise ' + m.input.normalize;
  $('model-calibration').textContent = m.calibration.temperature === null ? 'none' : 'temperature ' + m.calibration.temperature.toFixed(3);
  $('model-conformal').textContent = m.conformal ? 'LAC sets at ' + pct(m.conformal.level) + ' coverage' : 'none';
  $('model-uncertainty').textContent = m.uncertainty ? (m.uncertainty.method === 'ensemble' ? 'deep ensemble of ' + m.uncertainty.samples + ' runs' : 'MC dropout, ' + m.uncertainty.samples + ' passes') : 'none';
  if (m.report) $('report-link').hidden = false;
  if (m.tabular) renderMetaForm(m.tabular);
  m.classes.forEach(function (c) { var o = el('option', '', c); o.value = c; $('explain-class').appendChild(o); });
  var body = $('metrics-body');
  body.textContent = '';
  if (!m.metrics) { $('metrics-note').textContent = 'This run has no metrics.json.'; return; }
  $('metrics-note').textContent = 'Test split, n = ' + m.metrics.n + (m.metrics.ciLevel ? ', ' + Math.round(100 * m.metrics.ciLevel) + ' % bootstrap CIs' : '') + '.';
  m.metrics.rows.forEach(function (r) {
    var tr = el('tr');
    tr.appendChild(el('td', '', r.label + (r.higherIsBetter ? ' ↑' : ' ↓')));
    tr.appendChild(el('td', 'num', num(r.value)));
    tr.appendChild(el('td', 'num', r.ci ? '[' + num(r.ci[0]) + ', ' + num(r.ci[1]) + ']' : '—'));
    tr.appendChild(el('td', 'num', r.zeroR === undefined ? '—' : num(r.zeroR)));
    body.appendChild(tr);
  });
}

function renderPrediction(p) {
  $('prediction').textContent = p.label + ' — ' + pct(p.probability);
  $('conformal').textContent = (p.calibrated ? 'Calibrated probabilities (temperature scaling).' : 'Uncalibrated probabilities.') +
    (p.conformalSet ? ' ' + Math.round(100 * p.conformalLevel) + ' % conformal set: ' +
      (p.conformalSet.length ? '{' + p.conformalSet.join(', ') + '}' : 'empty (even the top class is below the calibrated threshold)') : '');
  // the decision at the operating point (threshold chosen on val), besides the arg-max label
  var d = p.decision;
  $('decision').hidden = !d;
  if (d) $('decision').textContent = 'At ' + d.operatingPoint + ': ' + d.label + ' (calibrated ' + d.positiveClass + ' probability ' +
    d.probability.toFixed(4) + (d.positive ? ' ≥ ' : ' < ') + 'threshold ' + (d.threshold === null ? '∞' : d.threshold.toFixed(4)) + ', chosen on validation).';
  // ensembles and MC-dropout runs: entropy of the mean prediction and the members' disagreement (mutual information)
  var u = p.uncertainty;
  $('uncertainty').hidden = !u;
  if (u) $('uncertainty').textContent = 'Uncertainty over ' + u.samples + (u.method === 'ensemble' ? ' ensemble members' : ' dropout passes') +
    ': predictive entropy ' + u.entropy.toFixed(3) + ' nats (max ' + Math.log(Object.keys(p.probabilities).length).toFixed(3) + '), mutual information ' +
    u.mutualInformation.toFixed(3) + ' nats (disagreement between ' + (u.method === 'ensemble' ? 'members' : 'passes') + ').';
  var bars = $('bars');
  bars.textContent = '';
  Object.keys(p.probabilities).forEach(function (c) {
    var v = p.probabilities[c];
    var row = el('div', 'bar-row' + (c === p.label ? ' top' : ''));
    row.appendChild(el('span', 'bar-label', c));
    var track = el('span', 'bar-track');
    var fill = el('span', 'bar-fill');
    fill.style.width = (100 * v).toFixed(2) + '%';
    track.appendChild(fill);
    row.appendChild(track);
    row.appendChild(el('span', 'bar-value', pct(v)));
    bars.appendChild(row);
  });
  renderAttribution(p.tabularAttribution);
}

function signed(v) { return (v >= 0 ? '+' : '−') + Math.abs(v).toFixed(3); }
function signedPct(v) { return (v >= 0 ? '+' : '−') + (100 * Math.abs(v)).toFixed(1) + ' %'; }

// Image + tabular runs: per column, the predicted class's logit and probability with the value minus with it missing.
function renderAttribution(a) {
  var box = $('attribution');
  if (!a) { box.hidden = true; return; }
  var body = $('attribution-body');
  body.textContent = '';
  function row(name, value, d) {
    var tr = el('tr');
    tr.appendChild(el('td', '', name));
    tr.appendChild(el('td', '', value));
    tr.appendChild(el('td', 'num', signed(d.deltaLogit)));
    tr.appendChild(el('td', 'num', signedPct(d.deltaProbability)));
    body.appendChild(tr);
  }
  a.columns.forEach(function (c) { row(c.column, c.missing ? '(missing)' : String(c.value), c); });
  row('(image only)', 'all missing', a.imageOnly);
  $('attribution-note').textContent = 'Δ = ' + a.className + ' with the value − with that value missing (positive: the value pushed toward ' +
    a.className + '). Image only: ' + pct(a.imageOnly.probability) + '.';
  box.hidden = false;
}

function explain(file) {
  var cls = $('explain-class').value;
  $('explain-error').hidden = true;
  $('overlay-note').textContent = 'Computing Grad-CAM…';
  return post('/api/explain' + (cls ? '?class=' + encodeURIComponent(cls) : ''), file)
    .then(renderExplain, function (e) { $('overlay-note').textContent = ''; showError('explain-error', e); });
}

function renderExplain(x) {
  var img = $('overlay');
  img.src = x.overlay;
  img.alt = 'Grad-CAM for ' + x.explained;
  img.hidden = false;
  $('overlay-note').textContent = 'Left: the input as the network saw it; right: Grad-CAM for class ' + x.explained + ' (bright = raised the score).';
}

function renderSimilar(s) {
  var body = $('similar-body');
  body.textContent = '';
  s.similar.forEach(function (c) {
    var tr = el('tr');
    tr.appendChild(el('td', 'num', String(c.rank)));
    tr.appendChild(el('td', '', c.label));
    tr.appendChild(el('td', 'num', c.similarity.toFixed(3)));
    if (c.id !== undefined) tr.appendChild(el('td', '', c.id));
    body.appendChild(tr);
  });
  $('similar-id-col').hidden = !(s.similar.length && s.similar[0].id !== undefined);
  $('similar-table').hidden = false;
}

function analyse(file) {
  if (!file) return;
  ['predict-error', 'explain-error', 'similar-error'].forEach(function (id) { $(id).hidden = true; });
  $('results').hidden = false;
  $('prediction').textContent = 'Classifying…';
  $('conformal').textContent = '';
  $('uncertainty').hidden = true;
  $('bars').textContent = '';
  $('attribution').hidden = true;
  $('overlay').hidden = true;
  $('overlay-note').textContent = 'Computing Grad-CAM…';
  $('similar-table').hidden = true;
  $('similar-note').textContent = '';
  $('file-name').textContent = file.name;
  state.file = file;
  if (state.preview) URL.revokeObjectURL(state.preview);
  state.preview = URL.createObjectURL(file);
  $('preview').src = state.preview;
  $('preview').hidden = false;
  post('/api/predict', file).then(function (p) {
    renderPrediction(p);
    return explain(file)
      .then(function () {
        if (state.model && !state.model.similar.available) { $('similar-note').textContent = 'No similar-case index for this run: ' + state.model.similar.reason; return; }
        return post('/api/similar', file).then(renderSimilar, function (e) { showError('similar-error', e); });
      });
  }, function (e) {
    $('prediction').textContent = '';
    $('overlay-note').textContent = '';
    showError('predict-error', e);
  });
}

fetch('/api/model').then(function (r) { return r.json(); }).then(renderModel, function (e) { showError('predict-error', e); });
$('file').addEventListener('change', function () { analyse(this.files[0]); });
$('explain-class').addEventListener('change', function () { if (state.file) explain(state.file); });
var drop = $('drop');
['dragenter', 'dragover'].forEach(function (t) { drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('over'); }); });
['dragleave', 'drop'].forEach(function (t) { drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.remove('over'); }); });
drop.addEventListener('drop', function (e) { analyse(e.dataTransfer.files[0]); });
`;
