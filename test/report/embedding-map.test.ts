import { describe, expect, it } from 'vitest';
import { embeddingMapSection, scatterPlot, type EmbeddingMapInput } from '../../src/report/index.js';
import { xmlProblems } from './xml-check.js';

const map: EmbeddingMapInput = {
  classes: ['normal', 'lesion <b>'], labels: [0, 0, 1, 1, 1], x: [0, 1, 5, 6, 5.5], y: [0, 0.5, 3, 3, NaN], count: 5, sampled: false,
  neighborAccuracy: { k: 1, map_2d: 1, embedding: 1, majority_share: 0.6 },
  knn: { k: 3, weights: 'distance', test: { roc_auc: 0.9, accuracy: 0.8, balanced_accuracy: 0.75, ci: { intervals: { roc_auc: [0.8, 1] } } }, val: null },
};

describe('embedding map section', () => {
  it('draws one dot per finite point, coloured by class with escaped class names', () => {
    const svg = scatterPlot(map, 'map');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/<circle cx/g)).toHaveLength(4 + 2); // 4 finite points + 2 legend swatches
    expect(svg).toContain('lesion &lt;b&gt; (n=2)'); // the NaN point is left out
    expect(svg).toContain('normal (n=2)');
  });

  it('shows the k-NN head beside the model head, or says how to build it', () => {
    const html = embeddingMapSection(map, { roc_auc: 0.95, accuracy: 0.9, balanced_accuracy: 0.9 });
    expect(html).toContain('k-NN head (k=3, distance)');
    expect(html).toMatch(/0\.9000 <span class="ci">\[0\.8000 – 1\.0000\]<\/span><\/td><td>0\.9500/);
    expect(embeddingMapSection(undefined)).toContain('medclass index --run DIR');
  });
});
