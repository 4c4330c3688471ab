import { fmt } from './headline.js';
import { esc } from './svg.js';

/** The report's inline stylesheet. */
export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:0;background:#f9fafb}
main{max-width:1120px;margin:0 auto;padding:0 24px 40px}
.banner{background:#7f1d1d;color:#fff;padding:10px 24px;font-weight:600;text-align:center;letter-spacing:.02em}
h1{font-size:24px;margin:22px 0 4px}h2{font-size:18px;margin:30px 0 10px;padding-bottom:4px;border-bottom:2px solid #e5e7eb}
h3{font-size:15px;margin:16px 0 6px}.sub{color:#4b5563;margin:0 0 8px}
table{border-collapse:collapse;margin:6px 0 10px;background:#fff;font-variant-numeric:tabular-nums}
th,td{border:1px solid #e5e7eb;padding:4px 9px;text-align:right;white-space:nowrap}th{background:#f3f4f6;font-weight:600}
td:first-child,th:first-child{text-align:left}.note{color:#4b5563;font-size:12.5px;max-width:900px}
.plots{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}.plots figure{margin:0;background:#fff;border:1px solid #e5e7eb;padding:6px}
figcaption{font-size:12px;color:#4b5563;max-width:380px;padding:2px 4px}.kv td:first-child{color:#374151;font-weight:500}.kv td{text-align:left}.side{max-width:460px}
.ci{color:#6b7280;font-size:11.5px}.card{background:#fff;border:1px solid #e5e7eb;padding:4px 18px 10px}.small{color:#b45309}
.flag{background:#fef3c7;border-left:4px solid #b45309;padding:6px 10px;max-width:900px}td.flag{background:#fef3c7;border-left:1px solid #e5e7eb;padding:4px 9px}
.thumbs{display:flex;gap:6px;align-items:flex-end;margin:4px 0 10px}.thumbs figure{margin:0;text-align:center;width:70px}.thumbs figure img{margin:0 auto}.thumbs img{display:block;width:64px;height:64px;image-rendering:pixelated;border:1px solid #d1d5db}
.thumbs figcaption{font-size:11px;max-width:70px}.thumbs .query img{border:2px solid #111827}
footer{color:#6b7280;font-size:12px;margin-top:30px}code{background:#f3f4f6;padding:0 3px}
`;

/** A table cell: text (escaped) or ready HTML. */
export type Cell = string | number | { html: string };

/** A 95% CI as "lo – hi", or an em dash. */
export const ciCell = (c?: [number, number]) => (c ? `${fmt(c[0])} – ${fmt(c[1])}` : '—');

/** One cell's HTML. */
export const cellHtml = (c: Cell) => (typeof c === 'object' ? c.html : esc(c));

/** An HTML table with an optional head row and class. */
export const table = (head: string[], rows: Cell[][], cls = '') =>
  `<table${cls ? ` class="${cls}"` : ''}>${head.length ? `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` : ''}<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${cellHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

/** An inline SVG in a captioned `<figure>` (nothing when there is no plot). */
export const figure = (svg: string | undefined, caption: string) => (svg ? `<figure>${svg}<figcaption>${esc(caption)}</figcaption></figure>` : '');
