import type { RunDir } from '../run/index.js';
import { fmt } from './headline.js';
import type { TestPredictions } from './predictions.js';
import { fig, type ReportContext, type ReportSection } from './sections.js';
import { PALETTE, esc } from './svg.js';

/** What the report shows under "Embedding map": index/umap.json and, when present, the k-NN head's metrics. */
export interface EmbeddingMapInput {
  classes: string[];
  x: number[];
  y: number[];
  labels: number[];
  /** training cases in the index, and whether the map shows a sample of them */
  count: number;
  sampled: boolean;
  neighborAccuracy?: { k: number; map_2d: number; embedding: number; majority_share: number };
  /** test (and val) headline metrics of the k-NN head (index/knn-metrics.json), with its settings */
  knn?: { k: number; weights: string; test: Record<string, any>; val: Record<string, any> | null };
  /** test cases placed in the map (index/umap-test.json), with whether the model misclassified each (predictions.csv) */
  test?: { x: number[]; y: number[]; labels: number[]; wrong?: boolean[] };
}

/**
 * Reads index/umap.json (and index/knn-metrics.json) of a run directory; undefined when `medclass index` has not
 * run. With the test predictions, test points placed in the map get whether the model got them wrong (joined by id).
 */
export function readEmbeddingMap(run: RunDir, predictions?: TestPredictions): EmbeddingMapInput | undefined {
  const u = run.indexJson('umap.json');
  if (!u) return undefined;
  const k = run.indexJson('knn-metrics.json');
  let test: EmbeddingMapInput['test'];
  const ut = run.indexJson('umap-test.json');
  if (ut && Array.isArray(ut.x)) {
    const byId = new Map((predictions?.ids ?? []).map((id, i) => [id, predictions!.predicted[i] !== predictions!.labels[i]]));
    const wrong = (ut.ids as string[] | undefined)?.map((id) => byId.get(id) ?? false);
    test = { x: ut.x, y: ut.y, labels: ut.labels, ...(wrong && byId.size ? { wrong } : {}) };
  }
  return {
    classes: u.classes, x: u.x, y: u.y, labels: u.labels, count: u.count, sampled: u.sampled, neighborAccuracy: u.neighbor_accuracy,
    ...(k ? { knn: { k: k.head?.k, weights: k.head?.weights, test: k.test, val: k.val ?? null } } : {}),
    ...(test ? { test } : {}),
  };
}

/** A scatter of 2-D points coloured by class (no axes values: UMAP coordinates have no units), legend with counts. */
export function scatterPlot(m: EmbeddingMapInput, title: string, size = 420): string {
  const W = size;
  const t = m.test;
  const legendH = 16 * m.classes.length + 8 + (t ? 16 * (t.wrong ? 2 : 1) : 0);
  const H = size + legendH;
  const pad = 10;
  const top = 28;
  const side = size - top - pad;
  const fin = m.x.map((_, i) => i).filter((i) => Number.isFinite(m.x[i]) && Number.isFinite(m.y[i]));
  const tfin = t ? t.x.map((_, i) => i).filter((i) => Number.isFinite(t.x[i]) && Number.isFinite(t.y[i])) : [];
  const xs = [...fin.map((i) => m.x[i]!), ...tfin.map((i) => t!.x[i]!)];
  const ys = [...fin.map((i) => m.y[i]!), ...tfin.map((i) => t!.y[i]!)];
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0) || 1; // one scale for both axes: UMAP distances are isotropic
  const X = (v: number) => W / 2 + ((v - (x0 + x1) / 2) / span) * (side - 8);
  const Y = (v: number) => top + side / 2 - ((v - (y0 + y1) / 2) / span) * (side - 8);
  const r = fin.length > 2000 ? 1.6 : fin.length > 500 ? 2.2 : 3;
  const counts = m.classes.map((_, c) => fin.filter((i) => m.labels[i] === c).length);
  const parts: string[] = [`<rect x="${pad}" y="${top}" width="${W - 2 * pad}" height="${side}" fill="#fff" stroke="#9ca3af"/>`];
  // draw the larger classes first so a small class stays visible on top
  const order = m.classes.map((_, c) => c).sort((a, b) => counts[b]! - counts[a]! || a - b);
  for (const c of order) {
    const color = PALETTE[c % PALETTE.length]!;
    const dots = fin.filter((i) => m.labels[i] === c).map((i) => `<circle cx="${X(m.x[i]!).toFixed(1)}" cy="${Y(m.y[i]!).toFixed(1)}" r="${r}"/>`);
    parts.push(`<g fill="${color}" fill-opacity="0.7">${dots.join('')}</g>`);
  }
  if (t) {
    // test cases: hollow rings in their true class's colour; the model's errors crossed in black on top
    parts.push(`<g fill="#fff" fill-opacity="0.6" stroke-width="1.3">${tfin.map((i) => `<circle cx="${X(t.x[i]!).toFixed(1)}" cy="${Y(t.y[i]!).toFixed(1)}" r="${r + 1.2}" stroke="${PALETTE[t.labels[i]! % PALETTE.length]!}"/>`).join('')}</g>`);
    if (t.wrong) parts.push(`<g stroke="#111827" stroke-width="1.4">${tfin.filter((i) => t.wrong![i]).map((i) => { const [cx, cy] = [X(t.x[i]!), Y(t.y[i]!)]; return `<path d="M${(cx - 3.5).toFixed(1)} ${(cy - 3.5).toFixed(1)}l7 7m0 -7l-7 7"/>`; }).join('')}</g>`);
  }
  m.classes.forEach((name, c) => {
    const yy = top + side + 18 + c * 16;
    parts.push(`<circle cx="${pad + 6}" cy="${yy - 4}" r="4.5" fill="${PALETTE[c % PALETTE.length]!}"/><text x="${pad + 16}" y="${yy}">${esc(`${name} (n=${counts[c]})`)}</text>`);
  });
  if (t) {
    const yy = top + side + 18 + m.classes.length * 16;
    const nWrong = t.wrong ? tfin.filter((i) => t.wrong![i]).length : 0;
    parts.push(`<circle cx="${pad + 6}" cy="${yy - 4}" r="4" fill="#fff" stroke="#374151" stroke-width="1.3"/><text x="${pad + 16}" y="${yy}">${esc(`test case, ring in its true class's colour (n=${tfin.length})`)}</text>`);
    if (t.wrong) parts.push(`<path d="M${pad + 2.5} ${yy + 8.5}l7 7m0 -7l-7 7" stroke="#111827" stroke-width="1.4"/><text x="${pad + 16}" y="${yy + 16}">${esc(`misclassified by the model (n=${nWrong})`)}</text>`);
  }
  parts.push(`<text x="${pad}" y="18" font-weight="600" font-size="12.5">${esc(title)}</text>`);
  const desc = `UMAP map of ${fin.length} training cases, ${m.classes.map((n, c) => `${counts[c]} ${n}`).join(', ')}${t ? `, and ${tfin.length} test cases placed by their nearest mapped training cases` : ''}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" font-family="system-ui, sans-serif" font-size="10.5" fill="#111827"><title>${esc(title)}</title><desc>${esc(desc)}</desc>${parts.join('')}</svg>`;
}

/** The "Embedding map" section: the UMAP scatter and the k-NN head beside the model's own (`model` = metrics.json test). */
export function embeddingMapSection(m: EmbeddingMapInput | undefined, model?: Record<string, any>): string {
  const head = '<h2>Embedding map and similar-case retrieval</h2>';
  if (!m) return `${head}<p class="note">Not computed: <code>medclass index --run DIR</code> builds the similar-case index, a k-NN head and this map.</p>`;
  const svg = scatterPlot(m, `Embeddings (UMAP), ${m.sampled ? `${m.x.length} of ${m.count}` : m.x.length} training${m.test ? ` + ${m.test.x.length} test` : ''} cases`);
  const na = m.neighborAccuracy;
  const rows: string[] = [];
  if (m.knn) {
    const keys: [string, string][] = [['roc_auc', 'ROC AUC'], ['accuracy', 'accuracy'], ['balanced_accuracy', 'balanced accuracy']];
    const ci = (t: Record<string, any>, k: string) => { const c = t.ci?.intervals?.[k]; return c ? ` <span class="ci">[${fmt(c[0])} – ${fmt(c[1])}]</span>` : ''; };
    for (const [k, label] of keys) rows.push(`<tr><td>${esc(label)}</td><td>${esc(fmt(m.knn.test[k]))}${ci(m.knn.test, k)}</td><td>${model ? `${esc(fmt(model[k]))}${ci(model, k)}` : '—'}</td></tr>`);
  }
  const table = rows.length ? `<table><thead><tr><th>test</th><th>k-NN head (k=${esc(m.knn!.k)}, ${esc(m.knn!.weights)})</th><th>model head</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '';
  const acc = na ? `<p>Leave-one-out ${esc(na.k)}-NN accuracy of the mapped cases: ${esc(fmt(na.map_2d))} in the 2-D map, ${esc(fmt(na.embedding))} in the embedding (majority class ${esc(fmt(na.majority_share))}).</p>` : '';
  return `${head}<div class="plots"><figure>${svg}<figcaption>Each dot is a training case, coloured by its true class${m.test ? '; rings are test cases, placed at the similarity-weighted mean of their nearest mapped training cases, crossed where the model misclassified them' : ''}. UMAP keeps neighbourhoods, not distances: the size of and the gaps between clusters mean little.</figcaption></figure><div class="side">${table}${acc}<p class="note">The k-NN head classifies a case by the vote of its most similar training cases in the model's embedding (cosine similarity; with <code>distance</code> weights each vote counts 1/(1 − similarity)) (index/knn-metrics.json); <code>medclass similar</code> lists those cases for new images. Similar cases are a look-up, not a second opinion.</p></div></div>`;
}

/** The embedding-map section as a report section, its scatter also written as figures/embedding-umap.svg/.png. */
export function embeddingSection(ctx: Pick<ReportContext, 'embeddingMap' | 'data'>): ReportSection {
  const html = embeddingMapSection(ctx.embeddingMap, ctx.data.test as unknown as Record<string, any>);
  const svg = html.match(/<svg[\s\S]*?<\/svg>/)?.[0];
  return { id: 'embedding', html, figures: fig('embedding', 'umap', svg) };
}
