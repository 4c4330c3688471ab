import { esc } from './svg.js';

/** One Grad-CAM example for the report: labels and the overlay PNG (no item id, no path). */
export interface GradCamExample {
  trueLabel: string;
  predicted: string;
  /** probability of the predicted class (temperature-scaled when the run has a temperature) */
  probability: number;
  /** class whose logit the map explains */
  explained: string;
  png: Uint8Array;
}

/** What the report shows under "Grad-CAM examples": overlays, or why there are none. */
export type GradCamReportInput = { layer: string; examples: GradCamExample[] } | { unavailable: string };

/** The "Grad-CAM examples" section: overlays embedded as data: PNG URIs, captioned with true and predicted class. */
export function gradCamSection(g: GradCamReportInput | undefined): string {
  const head = '<h2>Grad-CAM examples</h2>';
  if (!g) return `${head}<p class="note">Not computed: <code>medclass report</code> adds them when the run's data source can be read.</p>`;
  if ('unavailable' in g) return `${head}<p class="note">Not computed: ${esc(g.unavailable)}</p>`;
  if (!g.examples.length) return `${head}<p class="note">No readable test images.</p>`;
  const figs = g.examples.map((e) => {
    const ok = e.trueLabel === e.predicted;
    const src = `data:image/png;base64,${Buffer.from(e.png).toString('base64')}`;
    return `<figure><img src="${src}" alt="${esc(`test image of class ${e.trueLabel} and its Grad-CAM overlay`)}" style="display:block;image-rendering:pixelated"/><figcaption>true <b>${esc(e.trueLabel)}</b> · predicted <b>${esc(e.predicted)}</b> (p = ${esc(e.probability.toFixed(3))})${ok ? '' : ' <span class="small">misclassified</span>'} · map of “${esc(e.explained)}”</figcaption></figure>`;
  });
  return `${head}<div class="plots">${figs.join('')}</div><p class="note">Each pair: the test image as the network saw it (after resizing), and the Grad-CAM heat map of the predicted class's logit at <code>${esc(g.layer)}</code> (inferno colour map; brighter and more opaque = larger positive gradient-weighted activation, normalised per image). Per true class, up to two test images: the first correctly classified and the first misclassified one where there are such. A heat map shows where evidence for a class was found, not that the reasoning is sound.</p>`;
}
