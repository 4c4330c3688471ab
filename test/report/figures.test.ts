import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { linePlot, titleLines } from '../../src/report/index.js';
import { listFigures, openRunDir, svgToPng, writeFigures } from '../../src/run/index.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';
import { xmlProblems } from './xml-check.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('figures/*.svg and *.png in a run directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medclass-figures-'));
  afterAll(() => removeTempDir(dir));
  const plot = linePlot({
    title: 'Precision–recall (test, positive = a long positive class name)', xLabel: 'recall', yLabel: 'precision', x: [0, 1], y: [0, 1], width: 330, height: 300,
    series: [{ name: 'curve', points: [[0, 1], [0.5, 0.8], [1, 0.5]] }], bands: [{ x: [0, 1], lo: [0.4, 0.3], hi: [0.9, 0.8], name: 'band' }], marks: [{ x: 0.5, y: 0.8, label: 'point' }],
  });

  it('writes each plot as a well-formed SVG and a PNG rendered from it at twice its size, with ink on it', async () => {
    writeFileSync(join(dir, 'metrics.json'), '{}');
    const run = openRunDir(dir);
    const w = writeFigures(run, [{ name: 'errors-pr', svg: plot }, { name: 'errors-roc', svg: plot.replace('Precision–recall', 'ROC') }]);
    expect(w.map((f) => [f.svg, f.png])).toEqual([['figures/errors-pr.svg', 'figures/errors-pr.png'], ['figures/errors-roc.svg', 'figures/errors-roc.png']]);
    const svg = readFileSync(join(dir, 'figures/errors-pr.svg'), 'utf8');
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(xmlProblems(svg.replace(/^<\?xml[^>]*>\n/, ''))).toEqual([]);
    const png = readFileSync(join(dir, 'figures/errors-pr.png'));
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    const [sw, sh] = [Number(/width="([\d.]+)"/.exec(svg)![1]), Number(/height="([\d.]+)"/.exec(svg)![1])];
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 2 * sw, 2 * sh]);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([2 * sw, 2 * sh]); // IHDR
    const stats = await sharp(png).stats();
    expect(stats.channels[0]!.min).toBeLessThan(60); // dark text and lines on the white background
    expect(stats.channels[0]!.max).toBe(255);
    expect(listFigures(run)).toEqual(['errors-pr', 'errors-roc']);
    // a later report that no longer has a plot removes its stale files
    writeFigures(run, [{ name: 'errors-pr', svg: plot }]);
    expect(listFigures(run)).toEqual(['errors-pr']);
  });

  it('refuses figure names that are not kebab-case or repeat', () => {
    const run = openRunDir(dir);
    expect(() => writeFigures(run, [{ name: 'Errors PR', svg: plot }])).toThrow(expect.objectContaining({ code: 'MC_RUN_BAD_FIGURE' }));
    expect(() => writeFigures(run, [{ name: 'a', svg: plot }, { name: 'a', svg: plot }])).toThrow(expect.objectContaining({ code: 'MC_RUN_BAD_FIGURE' }));
  });

  it('wraps a title wider than the plot onto a second line instead of clipping it (the PR title was cut off)', () => {
    expect(titleLines('Precision–recall (test, positive = pneumonia)', 318)).toEqual(['Precision–recall', '(test, positive = pneumonia)']);
    expect(titleLines('Loss per epoch', 348)).toEqual(['Loss per epoch']);
    const texts = [...plot.matchAll(/<text x="6" y="(\d+)" font-weight="600"[^>]*>([^<]*)<\/text>/g)].map((m) => [m[1], m[2]]);
    expect(texts.map((t) => t[1]).join(' ')).toBe('Precision–recall (test, positive = a long positive class name)');
    expect(texts.map((t) => t[0])).toEqual(['18', '33']);
    for (const [, t] of texts) expect(t!.length * 12.5 * 0.6).toBeLessThanOrEqual(330 - 12);
    // the plot area moves down by the extra line: its frame starts 15 px lower than a one-line title's
    expect(plot).toContain('<rect x="52" y="45"');
  });

  it('renders text with a real font (resvg finds DejaVu Sans or the system sans-serif)', () => {
    const blank = svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="80" height="20"></svg>', 1).png;
    const text = svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="80" height="20" font-family="sans-serif"><text x="2" y="15">ROC 0.9</text></svg>', 1).png;
    expect(text.length).toBeGreaterThan(blank.length + 100);
  });
});
