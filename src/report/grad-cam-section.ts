import { COLORMAPS } from '../explain/index.js';
import { fig, type ReportContext, type ReportSection } from './sections.js';
import { esc, svgDoc } from './svg.js';

/** One Grad-CAM example for the report: labels and the overlay PNG (no item id, no path). */
export interface GradCamExample {
  trueLabel: string;
  predicted: string;
  /** probability of the predicted class (temperature-scaled when the run has a temperature) */
  probability: number;
  /** class whose logit the map explains */
  explained: string;
  png: Uint8Array;
  /** the gallery row it belongs to, e.g. "TP: true positive" (examples without one share a row) */
  group?: string;
}

/** What the report shows under "Grad-CAM examples": overlays (grouped into gallery rows), or why there are none. */
export type GradCamReportInput = { layer: string; examples: GradCamExample[]; perGroup?: number; note?: string; groups?: string[] } | { unavailable: string };

/** Width and height of a PNG from its IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** A vertical colour bar of the inferno map from 0 (bottom) to 1 (top), labelled as Grad-CAM weight; `id` names its gradient. */
export function colorBarSvg(x: number, y: number, h: number, id = 'inferno'): string {
  const stops = COLORMAPS.inferno.map((c, i, a) => `<stop offset="${(1 - i / (a.length - 1)).toFixed(2)}" stop-color="${c}"/>`).reverse().join('');
  return `<defs><linearGradient id="${id}" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>`
    + `<rect x="${x}" y="${y}" width="14" height="${h}" fill="url(#${id})" stroke="#9ca3af"/>`
    + `<text x="${x + 18}" y="${y + 8}">1 (max)</text><text x="${x + 18}" y="${y + h / 2 + 3}">0.5</text><text x="${x + 18}" y="${y + h}">0</text>`
    + `<text transform="translate(${x + 56} ${y + h / 2}) rotate(90)" text-anchor="middle" font-size="10">Grad-CAM, normalised per image</text>`;
}

/** The gallery as one SVG: a row per group, up to `perGroup` overlays per row, captions below each, the colour bar at the right. */
export function gradCamGallerySvg(g: { layer: string; examples: GradCamExample[]; perGroup?: number; groups?: string[] }, cellWidth = 220): string {
  const groups = new Map<string, GradCamExample[]>((g.groups ?? []).map((k) => [k, []]));
  for (const e of g.examples) {
    const key = e.group ?? 'examples';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(e);
  }
  const cols = Math.max(1, g.perGroup ?? Math.max(...[...groups.values()].map((l) => l.length)));
  const first = g.examples[0] ? pngSize(g.examples[0].png) : { width: 2, height: 1 };
  const cellH = Math.round((cellWidth * first.height) / first.width);
  const rowH = 18 + cellH + 30;
  const emptyH = 44; // a row with no case on test: its title and "none on test"
  const W = 10 + cols * (cellWidth + 10) + 80;
  const top = 28;
  const rowTops: number[] = [];
  let H = top;
  for (const list of groups.values()) { rowTops.push(H); H += list.length ? rowH : emptyH; }
  H += 8;
  const parts: string[] = [`<text x="6" y="18" font-weight="600" font-size="12.5">${esc(`Grad-CAM gallery (test) at ${g.layer}`)}</text>`];
  [...groups.entries()].forEach(([name, list], r) => {
    const y = rowTops[r]!;
    parts.push(`<text x="10" y="${y + 13}" font-weight="600" font-size="11.5">${esc(`${name} (${list.length})`)}</text>`);
    if (!list.length) parts.push(`<text x="10" y="${y + 32}" fill="#6b7280">none on test</text>`);
    list.slice(0, cols).forEach((e, c) => {
      const x = 10 + c * (cellWidth + 10);
      const src = `data:image/png;base64,${Buffer.from(e.png).toString('base64')}`;
      parts.push(`<image x="${x}" y="${y + 18}" width="${cellWidth}" height="${cellH}" href="${src}" preserveAspectRatio="xMidYMid meet" style="image-rendering:pixelated"/>`);
      parts.push(`<text x="${x}" y="${y + 18 + cellH + 12}" font-size="9.5">${esc(`true ${e.trueLabel} · pred ${e.predicted} (p = ${e.probability.toFixed(3)})`)}</text>`);
      parts.push(`<text x="${x}" y="${y + 18 + cellH + 24}" font-size="9.5" fill="#4b5563">${esc(`map of “${e.explained}”`)}</text>`);
    });
  });
  parts.push(colorBarSvg(W - 70, top + 18, Math.max(80, Math.min(220, H - top - 40))));
  const desc = `${g.examples.length} test images with their Grad-CAM overlays in ${groups.size} rows: ${[...groups.entries()].map(([k, l]) => `${k} ${l.length}`).join(', ')}`;
  return svgDoc(W, H, 'Grad-CAM gallery', desc, parts);
}

/** The "Grad-CAM examples" section: the gallery (also figures/gradcam-gallery.svg/.png) with its colour bar. */
export function gradCamSection(ctx: Pick<ReportContext, 'gradCam'>): ReportSection {
  const g = ctx.gradCam;
  const head = '<h2>Grad-CAM gallery</h2>';
  if (!g) return { id: 'gradcam', html: `${head}<p class="note">Not computed: <code>medclass report</code> adds them when the run's data source can be read.</p>` };
  if ('unavailable' in g) return { id: 'gradcam', html: `${head}<p class="note">Not computed: ${esc(g.unavailable)}</p>` };
  if (!g.examples.length) return { id: 'gradcam', html: `${head}<p class="note">No readable test images.</p>` };
  const svg = gradCamGallerySvg(g);
  return {
    id: 'gradcam', figures: fig('gradcam', 'gallery', svg),
    html: `${head}<figure style="margin:0;background:#fff;border:1px solid #e5e7eb;padding:6px;overflow-x:auto">${svg}</figure><p class="note">Each pair: the test image as the network saw it (after resizing), and the Grad-CAM heat map of the predicted class's logit at <code>${esc(g.layer)}</code> (inferno colour map, bar at the right; brighter and more opaque = larger positive gradient-weighted activation, normalised per image). ${g.note ? esc(g.note) : ''} A heat map shows where evidence for a class was found, not that the reasoning is sound.</p>`,
  };
}
