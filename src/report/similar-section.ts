import type { RunDir } from '../run/index.js';
import type { ReportContext, ReportSection } from './sections.js';
import { esc } from './svg.js';

/** Test cases with their most similar training cases, as small PNG thumbnails (base64) from the index. */
export interface SimilarCasesInput {
  k: number;
  thumbSize: number;
  examples: { label: string; predicted?: string; png: string; neighbors: { label: string; similarity: number; png: string }[] }[];
}

/**
 * Reads index/similar-examples.json and the training thumbnails of index/thumbnails.json (both written by
 * `medclass index`); undefined when either is missing (an index built before thumbnails were stored).
 */
export function readSimilarCases(run: RunDir): SimilarCasesInput | undefined {
  const ex = run.indexJson('similar-examples.json');
  const th = run.indexJson('thumbnails.json');
  if (!ex || !th || !Array.isArray(ex.examples) || !Array.isArray(th.items)) return undefined;
  const items = th.items as { label: string; png: string }[];
  return {
    k: ex.k, thumbSize: th.size,
    examples: (ex.examples as { label: string; predicted?: string; png: string; neighbors: { index: number; similarity: number }[] }[]).map((e) => ({
      label: e.label, ...(e.predicted ? { predicted: e.predicted } : {}), png: e.png,
      neighbors: e.neighbors.filter((n) => items[n.index]).map((n) => ({ label: items[n.index]!.label, similarity: n.similarity, png: items[n.index]!.png })),
    })),
  };
}

const img = (png: string, alt: string) => `<img src="data:image/png;base64,${png}" alt="${esc(alt)}"/>`;

/** The "Similar cases" section: per test case, its thumbnail and those of its most similar training cases. */
export function similarCasesSection(ctx: Pick<ReportContext, 'similar'>): ReportSection {
  const s = ctx.similar;
  const head = '<h2>Similar cases</h2>';
  if (!s || !s.examples.length) return { id: 'similar', html: `${head}<p class="note">Not computed: <code>medclass index --run DIR</code> stores small thumbnails of the training cases in the index and picks example test cases.</p>` };
  const rows = s.examples.map((e) => `<div class="thumbs"><figure class="query">${img(e.png, `test image of class ${e.label}`)}<figcaption>test: <b>${esc(e.label)}</b>${e.predicted ? `<br>k-NN: ${esc(e.predicted)}` : ''}</figcaption></figure>`
    + e.neighbors.map((n, i) => `<figure>${img(n.png, `similar training image ${i + 1}, class ${n.label}`)}<figcaption>${esc(n.label)}<br>cos ${esc(n.similarity.toFixed(3))}</figcaption></figure>`).join('') + '</div>');
  return {
    id: 'similar',
    html: `${head}${rows.join('')}<p class="note">Left (bold frame): a test image; right: its ${esc(s.k)} most similar training cases in the model's embedding (cosine similarity), as ${esc(s.thumbSize)} px thumbnails stored in the index when it was built (index/thumbnails.json). Similar cases are a look-up, not a second opinion; no ids or paths are shown.</p>`,
  };
}
