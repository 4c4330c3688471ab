// Small, dependency-free SVG charts for the HTML report: line/step plots, heat maps, grouped bars.

/** Escapes text for XML/HTML content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Okabe–Ito colours (distinguishable with common colour-vision deficiencies). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#F0E442', '#000000'] as const;

/** Round tick values covering [lo, hi] (about `count` of them), as d3-array's `ticks` (steps 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = Math.floor(Math.log10(raw));
  const f = raw / 10 ** power;
  const factor = f >= Math.sqrt(50) ? 10 : f >= Math.sqrt(10) ? 5 : f >= Math.sqrt(2) ? 2 : 1;
  const out: number[] = [];
  if (power < 0) {
    // Divide by the inverse step so 0.6 is 6 / 10, not 3 × 0.2 (as d3 does).
    const inc = 10 ** -power / factor;
    for (let i = Math.ceil(lo * inc); i <= Math.floor(hi * inc); i++) out.push(i / inc);
  } else {
    const step = factor * 10 ** power;
    for (let i = Math.ceil(lo / step); i <= Math.floor(hi / step); i++) out.push(i * step);
  }
  return out;
}

const n2 = (v: number) => (Math.round(v * 100) / 100).toString();
const tickLabel = (v: number, step: number) => (step >= 1 ? String(Math.round(v)) : v.toFixed(Math.min(6, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)))));

/** One line of a plot: points in data units; `step: 'post'` draws as matplotlib's `drawstyle="steps-post"`. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  dash?: string;
  step?: 'post';
  /** marker radius per point (px), e.g. scaled by a bin's count; no markers when absent */
  markers?: readonly number[];
  width?: number;
}

/** A line plot with axes, ticks, grid, optional y = x diagonal and a legend. */
export interface LinePlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  x: [number, number];
  y: [number, number];
  series: readonly Series[];
  width?: number;
  height?: number;
  /** a dashed grey y = x line (chance for ROC, perfect calibration for reliability) */
  diagonal?: string;
  /** ticks only at whole numbers (epochs) */
  integerX?: boolean;
  /** a corner inside the plot, or 'below' the x-axis label (for many or long series names) */
  legend?: 'bottom-right' | 'top-right' | 'bottom-left' | 'top-left' | 'below';
  /** an accessible summary (the `<desc>` of the SVG) */
  description?: string;
  /** filled bands drawn under the lines (e.g. a bootstrap CI): lower and upper y per x */
  bands?: readonly { x: readonly number[]; lo: readonly number[]; hi: readonly number[]; color?: string; name?: string }[];
  /** labelled points drawn over the lines (e.g. operating points) */
  marks?: readonly { x: number; y: number; label: string; color?: string }[];
}

const MARGIN = { l: 52, r: 14, t: 30, b: 44 };

/**
 * A title wrapped to lines no wider than `width` px (about 0.6 em per character), breaking before a " (" first and
 * then at spaces, so a long title is never clipped at the plot's edge.
 */
export function titleLines(title: string, width: number, fontSize = 12.5): string[] {
  const max = Math.max(8, Math.floor(width / (fontSize * 0.6)));
  if (title.length <= max) return [title];
  const paren = title.lastIndexOf(' (');
  if (paren > 0 && paren <= max && title.length - paren - 1 <= max) return [title.slice(0, paren), title.slice(paren + 1)];
  const lines: string[] = [];
  let line = '';
  for (const word of title.split(' ')) {
    if (line && (line + ' ' + word).length > max) { lines.push(line); line = word; } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The title's `<text>` elements from y = 18 (each further line 15 px below), starting at x = 6. */
function titleSvg(lines: readonly string[]): string {
  return lines.map((l, i) => `<text x="6" y="${18 + i * 15}" font-weight="600" font-size="12.5">${esc(l)}</text>`).join('');
}

/** Renders a `LinePlotSpec` as an inline `<svg>` element. */
export function linePlot(s: LinePlotSpec): string {
  const W = s.width ?? 360;
  const below = s.legend === 'below' ? s.series.filter((x) => x.name).length + (s.bands ?? []).filter((b) => b.name).length : 0;
  const title = titleLines(s.title, W - 12);
  const M = { ...MARGIN, t: MARGIN.t + (title.length - 1) * 15 };
  const H = (s.height ?? 300) + (below ? 14 + below * 15 : 0) + (title.length - 1) * 15;
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b - (below ? 14 + below * 15 : 0);
  const [x0, x1] = s.x[1] > s.x[0] ? s.x : [s.x[0] - 0.5, s.x[0] + 0.5];
  const [y0, y1] = s.y[1] > s.y[0] ? s.y : [s.y[0] - 0.5, s.y[0] + 0.5];
  const X = (v: number) => M.l + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v: number) => M.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  const xt = niceTicks(x0, x1, Math.min(6, Math.max(2, Math.round(pw / 60)))).filter((v) => !s.integerX || Number.isInteger(Math.round(v * 1e9) / 1e9));
  const yt = niceTicks(y0, y1, Math.max(2, Math.round(ph / 50)));
  const xs = xt.length > 1 ? xt[1]! - xt[0]! : 1;
  const ys = yt.length > 1 ? yt[1]! - yt[0]! : 1;
  for (const v of xt) parts.push(`<line x1="${n2(X(v))}" y1="${M.t}" x2="${n2(X(v))}" y2="${M.t + ph}" stroke="#e5e7eb"/><text x="${n2(X(v))}" y="${M.t + ph + 14}" text-anchor="middle">${esc(tickLabel(v, xs))}</text>`);
  for (const v of yt) parts.push(`<line x1="${M.l}" y1="${n2(Y(v))}" x2="${M.l + pw}" y2="${n2(Y(v))}" stroke="#e5e7eb"/><text x="${M.l - 5}" y="${n2(Y(v) + 3.5)}" text-anchor="end">${esc(tickLabel(v, ys))}</text>`);
  parts.push(`<rect x="${M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#9ca3af"/>`);
  if (s.diagonal) {
    const a = Math.max(x0, y0);
    const b = Math.min(x1, y1);
    parts.push(`<line x1="${n2(X(a))}" y1="${n2(Y(a))}" x2="${n2(X(b))}" y2="${n2(Y(b))}" stroke="#9ca3af" stroke-dasharray="4 3"/>`);
  }
  for (const b of s.bands ?? []) {
    const up = b.x.map((x, j) => `${n2(X(x))},${n2(Y(b.hi[j]!))}`);
    const down = b.x.map((x, j) => `${n2(X(x))},${n2(Y(b.lo[j]!))}`).reverse();
    parts.push(`<polygon points="${[...up, ...down].join(' ')}" fill="${b.color ?? PALETTE[0]}" fill-opacity="0.18" stroke="none"/>`);
  }
  s.series.forEach((ser, i) => {
    const color = ser.color ?? PALETTE[i % PALETTE.length]!;
    const pts: [number, number][] = [];
    ser.points.forEach(([x, y], j) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      if (ser.step === 'post' && j > 0 && pts.length) pts.push([X(x), pts[pts.length - 1]![1]]);
      pts.push([X(x), Y(y)]);
    });
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="${ser.width ?? 2}"${ser.dash ? ` stroke-dasharray="${ser.dash}"` : ''} points="${pts.map(([a, b]) => `${n2(a)},${n2(b)}`).join(' ')}"/>`);
    if (ser.markers) ser.points.forEach(([x, y], j) => {
      const r = ser.markers![j] ?? 0;
      if (r > 0 && Number.isFinite(x) && Number.isFinite(y)) parts.push(`<circle cx="${n2(X(x))}" cy="${n2(Y(y))}" r="${n2(r)}" fill="${color}" fill-opacity="0.75" stroke="#fff" stroke-width="0.8"/>`);
    });
  });
  for (const mk of s.marks ?? []) {
    const [cx, cy] = [X(mk.x), Y(mk.y)];
    const right = cx < M.l + pw * 0.6;
    parts.push(`<path d="M${n2(cx)} ${n2(cy - 5.5)}L${n2(cx + 5.5)} ${n2(cy)}L${n2(cx)} ${n2(cy + 5.5)}L${n2(cx - 5.5)} ${n2(cy)}Z" fill="${mk.color ?? '#111827'}" stroke="#fff" stroke-width="1"><title>${esc(mk.label)}</title></path>`
      + `<text x="${n2(cx + (right ? 8 : -8))}" y="${n2(cy + 12)}" text-anchor="${right ? 'start' : 'end'}" font-size="9.5">${esc(mk.label)}</text>`);
  }
  // Legend: one row per series in a corner of the plot area.
  const named = s.series.filter((x) => x.name);
  if (named.length && below) {
    named.forEach((ser, i) => {
      const color = ser.color ?? PALETTE[s.series.indexOf(ser) % PALETTE.length]!;
      const yy = M.t + ph + M.b + 10 + i * 15;
      parts.push(`<line x1="${M.l}" y1="${yy - 4}" x2="${M.l + 14}" y2="${yy - 4}" stroke="${color}" stroke-width="2.5"${ser.dash ? ` stroke-dasharray="${ser.dash}"` : ''}/><text x="${M.l + 19}" y="${yy}">${esc(ser.name)}</text>`);
    });
    (s.bands ?? []).filter((b) => b.name).forEach((b, i) => {
      const yy = M.t + ph + M.b + 10 + (named.length + i) * 15;
      parts.push(`<rect x="${M.l}" y="${yy - 9}" width="14" height="9" fill="${b.color ?? PALETTE[0]}" fill-opacity="0.3"/><text x="${M.l + 19}" y="${yy}">${esc(b.name!)}</text>`);
    });
  } else if (named.length) {
    const pos = s.legend ?? 'bottom-right';
    const lw = Math.min(pw - 8, 18 + Math.max(...named.map((x) => x.name.length)) * 6.2);
    const lh = 6 + named.length * 15;
    const lx = pos.endsWith('right') ? M.l + pw - lw - 6 : M.l + 6;
    const ly = pos.startsWith('bottom') ? M.t + ph - lh - 6 : M.t + 6;
    parts.push(`<rect x="${n2(lx)}" y="${n2(ly)}" width="${n2(lw)}" height="${lh}" fill="#fff" fill-opacity="0.9" stroke="#d1d5db"/>`);
    named.forEach((ser, i) => {
      const color = ser.color ?? PALETTE[s.series.indexOf(ser) % PALETTE.length]!;
      const yy = ly + 13 + i * 15;
      parts.push(`<line x1="${n2(lx + 5)}" y1="${n2(yy - 4)}" x2="${n2(lx + 17)}" y2="${n2(yy - 4)}" stroke="${color}" stroke-width="2.5"${ser.dash ? ` stroke-dasharray="${ser.dash}"` : ''}/><text x="${n2(lx + 21)}" y="${n2(yy)}">${esc(ser.name)}</text>`);
    });
  }
  parts.push(`<text x="${M.l + pw / 2}" y="${M.t + ph + M.b - 8}" text-anchor="middle" font-size="11" fill="#374151">${esc(s.xLabel)}</text>`);
  parts.push(`<text transform="translate(13 ${M.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="11" fill="#374151">${esc(s.yLabel)}</text>`);
  parts.push(titleSvg(title));
  return svgDoc(W, H, s.title, s.description, parts);
}

/** A standalone SVG document of `W`×`H` px with a `<title>`, an optional `<desc>` and the given parts. */
export function svgDoc(W: number, H: number, title: string, description: string | undefined, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" font-family="system-ui, sans-serif" font-size="10.5" fill="#111827">`
    + `<title>${esc(title)}</title>${description ? `<desc>${esc(description)}</desc>` : ''}${parts.join('')}</svg>`;
}

/** A K×K heat map: cell colour from `shade` (0..1), text from `label`, axes labelled with class names. */
export function heatmap(s: {
  title: string; rows: readonly string[]; cols: readonly string[]; shade: readonly (readonly number[])[];
  label: (r: number, c: number) => [string, string?]; rowTitle: string; colTitle: string; description?: string;
}): string {
  const K = s.rows.length;
  const cell = Math.max(34, Math.min(72, Math.floor(260 / Math.max(K, 1))));
  const labelW = Math.min(130, 14 + Math.max(...s.rows.map((r) => r.length)) * 6.2);
  const top = 48;
  const left = labelW + 22;
  const W = left + K * cell + 12;
  const colLabelH = Math.min(90, 10 + Math.max(...s.cols.map((c) => c.length)) * 5.2);
  const H = top + K * cell + colLabelH + 16;
  const parts: string[] = [`<text x="4" y="18" font-weight="600" font-size="12.5">${esc(s.title)}</text>`,
    `<text x="${left + (K * cell) / 2}" y="38" text-anchor="middle" font-size="11" fill="#374151">${esc(s.colTitle)}</text>`,
    `<text transform="translate(12 ${top + (K * cell) / 2}) rotate(-90)" text-anchor="middle" font-size="11" fill="#374151">${esc(s.rowTitle)}</text>`];
  for (let r = 0; r < K; r++) {
    parts.push(`<text x="${left - 5}" y="${top + r * cell + cell / 2 + 3.5}" text-anchor="end">${esc(s.rows[r]!)}</text>`);
    for (let c = 0; c < K; c++) {
      const v = Math.max(0, Math.min(1, s.shade[r]?.[c] ?? 0));
      const fill = mix('#f7fbff', '#08306b', Number.isFinite(v) ? v : 0);
      const [main, sub] = s.label(r, c);
      const ink = v > 0.5 ? '#fff' : '#111827';
      const x = left + c * cell;
      const y = top + r * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff"/>`);
      parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + (sub ? -1 : 4)}" text-anchor="middle" fill="${ink}" font-weight="600">${esc(main)}</text>`);
      if (sub) parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 12}" text-anchor="middle" fill="${ink}" font-size="9">${esc(sub)}</text>`);
    }
  }
  for (let c = 0; c < K; c++) {
    const x = left + c * cell + cell / 2;
    const y = top + K * cell + 10;
    parts.push(`<text transform="translate(${x} ${y}) rotate(${K > 4 ? 35 : 0})" text-anchor="${K > 4 ? 'start' : 'middle'}" dy="${K > 4 ? 0 : 4}">${esc(s.cols[c]!)}</text>`);
  }
  return svgDoc(W, H, s.title, s.description, parts);
}

function mix(a: string, b: string, t: number): string {
  const p = (h: string, i: number) => parseInt(h.slice(1 + 2 * i, 3 + 2 * i), 16);
  return `#${[0, 1, 2].map((i) => Math.round(p(a, i) + (p(b, i) - p(a, i)) * t).toString(16).padStart(2, '0')).join('')}`;
}

/** Grouped vertical bars: one group per category, one bar per series. */
export function barChart(s: {
  title: string; categories: readonly string[]; series: readonly { name: string; values: readonly number[]; color?: string }[];
  xLabel: string; yLabel: string; width?: number; height?: number; description?: string;
}): string {
  const W = s.width ?? 360;
  const extra = s.series.length > 1 ? 12 + s.series.length * 15 : 0;
  const title = titleLines(s.title, W - 12);
  const M = { ...MARGIN, t: MARGIN.t + (title.length - 1) * 15 };
  const H = (s.height ?? 240) + extra + (title.length - 1) * 15;
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b - extra;
  const max = Math.max(1, ...s.series.flatMap((x) => x.values.filter(Number.isFinite)));
  const yt = niceTicks(0, max, 4);
  const top = Math.max(max, yt[yt.length - 1]!);
  const Y = (v: number) => M.t + ph - (v / top) * ph;
  const parts: string[] = [];
  const ys = yt.length > 1 ? yt[1]! - yt[0]! : 1;
  for (const v of yt) parts.push(`<line x1="${M.l}" y1="${n2(Y(v))}" x2="${M.l + pw}" y2="${n2(Y(v))}" stroke="#e5e7eb"/><text x="${M.l - 5}" y="${n2(Y(v) + 3.5)}" text-anchor="end">${esc(tickLabel(v, ys))}</text>`);
  const gw = pw / s.categories.length;
  const bw = Math.min(28, (gw * 0.8) / s.series.length);
  s.categories.forEach((cat, g) => {
    const gx = M.l + g * gw + (gw - bw * s.series.length) / 2;
    s.series.forEach((ser, i) => {
      const v = ser.values[g] ?? 0;
      const color = ser.color ?? PALETTE[i % PALETTE.length]!;
      parts.push(`<rect x="${n2(gx + i * bw)}" y="${n2(Y(v))}" width="${n2(bw - 1)}" height="${n2(M.t + ph - Y(v))}" fill="${color}"><title>${esc(`${ser.name} ${cat}: ${v}`)}</title></rect>`);
      if (v > 0) parts.push(`<text x="${n2(gx + i * bw + bw / 2)}" y="${n2(Y(v) - 3)}" text-anchor="middle" font-size="9">${esc(v)}</text>`);
    });
    parts.push(`<text x="${n2(M.l + g * gw + gw / 2)}" y="${M.t + ph + 14}" text-anchor="middle">${esc(cat)}</text>`);
  });
  parts.push(`<line x1="${M.l}" y1="${M.t + ph}" x2="${M.l + pw}" y2="${M.t + ph}" stroke="#9ca3af"/>`);
  if (s.series.length > 1) s.series.forEach((ser, i) => {
    const color = ser.color ?? PALETTE[i % PALETTE.length]!;
    const yy = M.t + ph + M.b + 8 + i * 15;
    parts.push(`<rect x="${M.l}" y="${yy - 9}" width="10" height="10" fill="${color}"/><text x="${M.l + 15}" y="${yy}">${esc(ser.name)}</text>`);
  });
  parts.push(`<text x="${M.l + pw / 2}" y="${M.t + ph + M.b - 8}" text-anchor="middle" font-size="11" fill="#374151">${esc(s.xLabel)}</text>`);
  parts.push(`<text transform="translate(13 ${M.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="11" fill="#374151">${esc(s.yLabel)}</text>`);
  parts.push(titleSvg(title));
  return svgDoc(W, H, s.title, s.description, parts);
}
