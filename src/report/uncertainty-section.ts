import type { UncertaintyFile } from '../run/index.js';
import type { ReportContext, ReportSection } from './sections.js';
import { esc } from './svg.js';

interface Figures { error_detection_auroc: number; aurc: number; accuracy_at_coverage: Record<string, number>; ci?: Record<string, { low: number; high: number }> }
interface Split { n: number; accuracy: number; errors: number; coverages: number[]; scores: Record<string, Figures>; name?: string; bootstrap?: { n: number; level: number } }

const f = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : '—');
const withCi = (v: number | undefined, ci?: { low: number; high: number }) => `${f(v)}${ci ? ` <span class="ci">(${f(ci.low)}–${f(ci.high)})</span>` : ''}`;
const LABELS: Record<string, string> = {
  entropy: 'predictive entropy H(p̄)', mutual_information: 'mutual information (BALD)', one_minus_max_probability: '1 − max probability',
};

function rows(model: string, s: Split): string[] {
  return Object.entries(s.scores).map(([score, x]) => `<tr><td>${esc(model)}</td><td>${esc(LABELS[score] ?? score)}</td>`
    + `<td>${withCi(x.error_detection_auroc, x.ci?.error_detection_auroc)}</td>`
    + s.coverages.map((c) => `<td>${withCi(x.accuracy_at_coverage[String(c)], x.ci?.[`accuracy_at_coverage@${c}`])}</td>`).join('')
    + `<td>${withCi(x.aurc, x.ci?.aurc)}</td></tr>`);
}

/**
 * The "Uncertainty" section of ensembles and MC-dropout runs, from uncertainty.json (`ctx.extras.uncertainty`, which
 * `writeReport` reads through the run layer): how well each uncertainty score finds the test errors (AUROC), the
 * accuracy on the most certain 90 % / 80 % (selective prediction) and the AURC, beside the single model's.
 */
export function uncertaintySection(ctx: ReportContext): ReportSection | undefined {
  const u = ctx.extras?.uncertainty as UncertaintyFile | undefined;
  if (!u) return undefined;
  const test = u.test as unknown as Split;
  const base = u.baseline as unknown as Split | null;
  const what = u.method === 'ensemble' ? `deep ensemble of ${u.samples} runs` : `MC-dropout, ${u.samples} passes with dropout on`;
  const covHead = test.coverages.map((c) => `<th>accuracy at ${Math.round(c * 100)} % coverage</th>`).join('');
  const level = test.bootstrap ? ` CIs: ${Math.round(test.bootstrap.level * 100)} % stratified bootstrap (${test.bootstrap.n} resamples).` : '';
  const html = `<h2>Uncertainty (${esc(what)})</h2>`
    + `<p>The model's probabilities are the mean p̄ over the ${esc(u.samples)} ${u.method === 'ensemble' ? 'members' : 'passes'}. `
    + `Predictive entropy H(p̄) is the total uncertainty; mutual information H(p̄) − mean H(p) is the part from `
    + `${u.method === 'ensemble' ? 'member' : 'pass'} disagreement (epistemic). Both are in nats, computed before temperature scaling. `
    + `Error-detection AUROC: how well the score ranks the ${esc(test.errors)} misclassified test images above the correct ones (0.5 = chance). `
    + `Accuracy at coverage: accuracy on the most certain fraction of the ${esc(test.n)} test images (the rest would be referred to a reader). `
    + `AURC: area under the risk–coverage curve (lower is better).${level}</p>`
    + `<table><thead><tr><th>model</th><th>uncertainty score</th><th>error-detection AUROC</th>${covHead}<th>AURC</th></tr></thead><tbody>`
    + [...rows(u.method === 'ensemble' ? `ensemble of ${u.samples}` : `MC-dropout (T=${u.samples})`, test), ...(base ? rows(`single: ${base.name ?? 'baseline'}`, base) : [])].join('')
    + `</tbody></table>`
    + `<p class="sub">Test accuracy at full coverage: ${f(test.accuracy)}${base ? ` (single model ${f(base.accuracy)})` : ''}. Research software, not a diagnostic device.</p>`;
  return { id: 'uncertainty', html };
}
