import { describe, expect, it } from 'vitest';
import { barChart, esc, heatmap, linePlot, niceTicks } from '../../src/report/index.js';
import { xmlProblems } from './xml-check.js';

describe('report SVG primitives', () => {
  it('niceTicks gives round steps of 1, 2 or 5 × 10^k covering the range (as d3.ticks)', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 120, 4)).toEqual([0, 20, 40, 60, 80, 100, 120]);
    expect(niceTicks(1, 4, 3)).toEqual([1, 2, 3, 4]);
    expect(niceTicks(0.31, 0.79, 4)).toEqual([0.4, 0.5, 0.6, 0.7]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });

  it('escapes markup in every piece of text', () => {
    expect(esc('<a & "b">')).toBe('&lt;a &amp; &quot;b&quot;&gt;');
    const svg = linePlot({ title: 'AUC <0.5> & "bad"', xLabel: 'x', yLabel: 'y', x: [0, 1], y: [0, 1], series: [{ name: 'c<1>&', points: [[0, 0], [1, 1]] }] });
    expect(svg).not.toContain('<0.5>');
    expect(xmlProblems(svg)).toEqual([]);
  });

  it('line plots, step plots, heat maps and bar charts are well-formed SVG, also with NaN points and degenerate ranges', () => {
    const plots = [
      linePlot({ title: 't', xLabel: 'x', yLabel: 'y', x: [1, 1], y: [0.5, 0.5], series: [{ name: 'one', points: [[1, 0.5]] }], integerX: true }),
      linePlot({ title: 't', xLabel: 'x', yLabel: 'y', x: [0, 1], y: [0, 1], diagonal: 'chance', legend: 'below',
        series: [{ name: 'pr', points: [[1, 0.5], [0.5, NaN], [0, 1]], step: 'post', markers: [2, 3, 4] }, { name: 'b', points: [] }] }),
      heatmap({ title: 'cm', rows: ['a', 'b'], cols: ['a', 'b'], shade: [[1, 0], [NaN, 0.5]], rowTitle: 'true', colTitle: 'pred', label: (r, c) => [`${r}${c}`, '1%'] }),
      barChart({ title: 'sizes', categories: ['0', '1', '2'], series: [{ name: 'LAC', values: [0, 5, 1] }, { name: 'APS', values: [1, 2, 3] }], xLabel: 'k', yLabel: 'n' }),
    ];
    for (const p of plots) {
      expect(p.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(p).not.toContain('NaN');
      expect(xmlProblems(p)).toEqual([]);
    }
    // steps-post: the point after (1, 0.5) is drawn at y of 0.5 first, then rises.
    expect(plots[1]).toMatch(/<polyline[^>]*points="[^"]+"/);
  });

  it('the checker itself catches broken markup', () => {
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a < b</text></svg>')).not.toEqual([]);
  });
});
