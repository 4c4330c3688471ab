import { createHash } from 'node:crypto';
import { WEB_APP_SCRIPT } from './web-app-script.js';

const STYLE = `
:root { --ink: #1d2433; --muted: #5b6478; --line: #d9dee8; --accent: #2f5fb3; --bg: #f5f7fb; --warn: #8a3b00; --warn-bg: #fff1d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.15rem; margin: 0; }
header .run { color: var(--muted); }
header a { margin-left: auto; color: var(--accent); }
.banner { margin: 0; padding: .6rem 1.5rem; background: var(--warn-bg); color: var(--warn); border-bottom: 1px solid #f0cf8f; font-weight: 600; }
main { max-width: 1100px; margin: 1.2rem auto; padding: 0 1rem; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.2rem; }
.card h2 { font-size: 1rem; margin: 0 0 .6rem; }
.wide { grid-column: 1 / -1; }
#drop { border: 2px dashed #9fb0cf; border-radius: 8px; padding: 1.4rem; text-align: center; display: flex; gap: 1.2rem; align-items: center; justify-content: center; flex-wrap: wrap; }
#drop.over { border-color: var(--accent); background: #eef3fc; }
#drop label { display: inline-block; padding: .45rem .9rem; background: var(--accent); color: #fff; border-radius: 6px; cursor: pointer; }
#drop input { position: absolute; width: 1px; height: 1px; opacity: 0; }
#preview { max-width: 96px; max-height: 96px; image-rendering: pixelated; border: 1px solid var(--line); }
#file-name { color: var(--muted); font-size: .9rem; }
#prediction { font-size: 1.5rem; font-weight: 650; margin: 0 0 .2rem; }
#conformal, .note { color: var(--muted); font-size: .9rem; margin: .2rem 0 .6rem; }
.bar-row { display: grid; grid-template-columns: minmax(60px, 30%) 1fr 4.5rem; gap: .5rem; align-items: center; margin: .25rem 0; }
.bar-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar-track { height: 14px; background: #e9edf4; border-radius: 7px; overflow: hidden; }
.bar-fill { display: block; height: 100%; background: #8ea6cf; }
.top .bar-fill { background: var(--accent); }
.top .bar-label { font-weight: 650; }
.bar-value { text-align: right; font-variant-numeric: tabular-nums; }
#overlay { width: 100%; max-width: 520px; image-rendering: pixelated; border-radius: 4px; border: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.card h2 select { float: right; font: inherit; font-weight: 400; font-size: .85rem; }
.error { color: #a11; background: #fdecec; border: 1px solid #f3c2c2; border-radius: 6px; padding: .5rem .7rem; margin: .4rem 0; font-size: .9rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: 0 0 .8rem; font-size: .9rem; }
dt { color: var(--muted); }
dd { margin: 0; }
#attribution h3 { font-size: .95rem; margin: .9rem 0 .3rem; }
#attribution table { font-size: .85rem; }
#attribution th { white-space: nowrap; }
#meta { border: 1px solid var(--line); border-radius: 6px; margin: .8rem 0 0; padding: .4rem .8rem .6rem; }
#meta-fields { display: flex; flex-wrap: wrap; gap: .4rem 1rem; }
#meta-fields label { display: flex; flex-direction: column; font-size: .85rem; }
footer { text-align: center; color: var(--muted); font-size: .85rem; padding: 1rem 1rem 2rem; }
`;

const BODY = `
<header><h1>medclass</h1><span class="run" id="run-name"></span><a id="report-link" href="/report" hidden>Evaluation report</a></header>
<p class="banner" id="disclaimer" role="note">Research software, not a diagnostic device. Predictions, heat maps and similar cases are for research only and must not guide the care of any patient.</p>
<main>
  <section class="card wide">
    <div id="drop">
      <img id="preview" alt="uploaded image" hidden>
      <div>Drop an image here, or <label for="file">choose an image</label><input id="file" type="file" accept="image/*,.dcm,application/dicom"></div>
      <span id="file-name"></span>
    </div>
    <fieldset id="meta" hidden><legend>Tabular values (this model combines them with the image; leave empty if unknown)</legend><div id="meta-fields"></div></fieldset>
    <p class="error" id="predict-error" hidden></p>
  </section>
  <section class="card" id="results" hidden>
    <h2>Prediction</h2>
    <p id="prediction"></p>
    <p id="conformal"></p>
    <p class="note" id="decision" hidden></p>
    <p class="note" id="uncertainty" hidden></p>
    <div id="bars"></div>
    <div id="attribution" hidden>
      <h3>What the tabular values did</h3>
      <table><thead><tr><th>column</th><th>value</th><th class="num">Δ logit</th><th class="num" title="Δ probability">Δ prob.</th></tr></thead><tbody id="attribution-body"></tbody></table>
      <p class="note" id="attribution-note"></p>
    </div>
  </section>
  <section class="card">
    <h2>Grad-CAM <select id="explain-class" aria-label="class to explain"><option value="">predicted class</option></select></h2>
    <img id="overlay" alt="" hidden>
    <p class="note" id="overlay-note">Choose an image to see which regions raised the predicted class's score.</p>
    <p class="error" id="explain-error" hidden></p>
  </section>
  <section class="card">
    <h2>Similar training cases</h2>
    <table id="similar-table" hidden><thead><tr><th class="num">#</th><th>label</th><th class="num">cosine similarity</th><th id="similar-id-col" hidden>training case</th></tr></thead><tbody id="similar-body"></tbody></table>
    <p class="note" id="similar-note"></p>
    <p class="error" id="similar-error" hidden></p>
  </section>
  <section class="card wide">
    <h2>Model</h2>
    <dl>
      <dt>classes</dt><dd id="model-classes"></dd>
      <dt>input</dt><dd id="model-input"></dd>
      <dt>calibration</dt><dd id="model-calibration"></dd>
      <dt>conformal sets</dt><dd id="model-conformal"></dd>
      <dt>uncertainty</dt><dd id="model-uncertainty"></dd>
    </dl>
    <p class="note" id="metrics-note"></p>
    <table><thead><tr><th>metric</th><th class="num">value</th><th class="num">CI</th><th class="num">majority-class baseline</th></tr></thead><tbody id="metrics-body"></tbody></table>
  </section>
</main>
<footer>medclass · research software, not a diagnostic device · images are processed in memory and not stored</footer>
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/**
 * The web app: one self-contained page (inline CSS and script, no external requests) and the Content-Security-Policy
 * that allows exactly its inline script and style (by hash), images from data:/blob: URIs and requests to this origin.
 */
export function webApp(): { html: string; csp: string } {
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>medclass — research software, not a diagnostic device</title><style>${STYLE}</style></head>
<body>${BODY}<script>${WEB_APP_SCRIPT}</script></body></html>\n`;
  const csp = [
    "default-src 'none'", `script-src ${sha256(WEB_APP_SCRIPT)}`, `style-src ${sha256(STYLE)}`, 'img-src data: blob:',
    "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
