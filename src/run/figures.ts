import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { MedclassError } from '../errors.js';
import type { RunDir } from './run-dir.js';

/** Folder of a run directory that holds every report plot as `<section>-<plot>.svg` and `.png`. */
export const FIGURES_DIR = 'figures';

/** One plot of the report: a file stem (`<section>-<plot>`, kebab-case) and its standalone SVG document. */
export interface FigureFile { name: string; svg: string }

/** What `writeFigures` wrote, relative to the run directory. */
export interface WrittenFigure { name: string; svg: string; png: string; width: number; height: number }

const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Renders an SVG document to PNG with resvg (white background, `scale` × the SVG's own size; text in DejaVu Sans
 * or the system's sans-serif), so a PNG and its SVG show the same plot.
 */
export function svgToPng(svg: string, scale = 2): { png: Uint8Array; width: number; height: number } {
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale }, background: '#ffffff',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  const img = r.render();
  return { png: new Uint8Array(img.asPng()), width: img.width, height: img.height };
}

/**
 * Writes each figure as `figures/<name>.svg` and `figures/<name>.png` (rendered from the same SVG) into the run
 * directory, recorded with their SHA-256 in run.json; figures of an earlier report that are not rewritten are removed.
 */
export function writeFigures(run: RunDir, figures: readonly FigureFile[], scale = 2): WrittenFigure[] {
  const seen = new Set<string>();
  for (const f of figures) {
    if (!NAME.test(f.name)) throw new MedclassError('MC_RUN_BAD_FIGURE', `figure name '${f.name}' is not kebab-case (a-z, 0-9, '-')`);
    if (seen.has(f.name)) throw new MedclassError('MC_RUN_BAD_FIGURE', `figure name '${f.name}' is used twice`);
    seen.add(f.name);
  }
  const stale = listFigures(run).filter((n) => !seen.has(n));
  const out: WrittenFigure[] = figures.map((f) => {
    const { png, width, height } = svgToPng(f.svg, scale);
    const svgName = `${FIGURES_DIR}/${f.name}.svg`;
    const pngName = `${FIGURES_DIR}/${f.name}.png`;
    run.writeFile(svgName, f.svg.startsWith('<?xml') ? f.svg : `<?xml version="1.0" encoding="UTF-8"?>\n${f.svg}\n`);
    run.writeFile(pngName, png);
    return { name: f.name, svg: svgName, png: pngName, width, height };
  });
  if (stale.length) {
    for (const n of stale) for (const ext of ['svg', 'png']) run.removeFile(`${FIGURES_DIR}/${n}.${ext}`);
  }
  return out;
}

/** Stems of the figures in a run directory's `figures/` (sorted), empty when there are none. */
export function listFigures(run: RunDir): string[] {
  const dir = run.path(FIGURES_DIR);
  if (!existsSync(dir)) return [];
  return [...new Set(readdirSync(dir).filter((f) => /\.(svg|png)$/.test(f)).map((f) => f.replace(/\.(svg|png)$/, '')))].sort();
}

/** The bytes of a file inside the run directory (`MC_TRAIN_BAD_RUN_DIR` when missing), for exports. */
export function runFileBytes(run: RunDir, name: string): Uint8Array {
  if (name.includes('..') || name.startsWith('/')) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${name}: not a path inside the run directory`);
  if (!run.has(name)) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${name} is missing from the run directory ${run.dir}`, { file: name });
  return new Uint8Array(readFileSync(run.path(name)));
}
