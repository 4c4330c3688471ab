import type { Command } from 'commander';
import { join } from 'node:path';
import { MedclassError } from '../../errors.js';
import { writeRunReport } from '../../pipeline/index.js';
import { out } from '../output.js';

/** `medclass report --run DIR [--compare RUN...]`: writes report.html, model-card.md and figures/ into the run directory. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write report.html (one self-contained page with inline SVG plots, a Grad-CAM gallery, similar cases), model-card.md and every plot as figures/<section>-<plot>.svg and .png into a run directory. Research software, not a diagnostic device')
    .requiredOption('--run <dir>', 'run directory written by medclass train (needs metrics.json)')
    .option('--data <source>', "data source for the Grad-CAM gallery and per-class counts (default: the run's, from run.json)")
    .option('--no-gradcam', 'leave out the Grad-CAM gallery (it needs model.onnx and the data source)')
    .option('--gallery <n>', 'Grad-CAM gallery images per cell (TP, FP, FN, TN)', '4')
    .option('--compare <runs...>', 'other run directories shown side by side in a Comparison section (same data only)')
    .option('--allow-different-data', 'compare runs on other data too (marked), instead of refusing them with MC_RUN_DIFFERENT_DATA')
    .action(async (o: { run: string; data?: string; gradcam: boolean; gallery: string; compare?: string[]; allowDifferentData?: boolean }) => {
      const perCell = Number(o.gallery);
      if (!(Number.isInteger(perCell) && perCell >= 1 && perCell <= 32)) throw new MedclassError('MC_CLI_BAD_OPTION', `--gallery: expected an integer 1–32, got '${o.gallery}'`);
      const r = await writeRunReport(o.run, {
        ...(o.data ? { data: o.data } : {}), gradCam: o.gradcam, perCell,
        ...(o.compare ? { compare: o.compare, allowDifferentData: o.allowDifferentData === true } : {}),
      });
      const note = r.gradCamUnavailable ? `; no Grad-CAM examples (${r.gradCamUnavailable})` : `, ${r.gradCamExamples} Grad-CAM examples`;
      out(`wrote ${r.html} (${(r.htmlBytes / 1024).toFixed(0)} KiB${note}), ${r.modelCard} and ${r.figures.length} figures (figures/*.svg, *.png) in ${o.run}\nsections: ${r.sections.join(', ')}\nResearch software, not a diagnostic device.`);
      process.exitCode = 0;
    });
}

/** Writes the complete report of a just-trained run (what `train` and `demo` do unless --no-report) and returns the lines to print. */
export async function reportAfterTraining(runDir: string): Promise<string> {
  const r = await writeRunReport(runDir, {});
  const cam = r.gradCamUnavailable ? `no Grad-CAM gallery (${r.gradCamUnavailable})` : `${r.gradCamExamples} Grad-CAM images`;
  return `report: ${join(runDir, r.html)} (${(r.htmlBytes / 1024).toFixed(0)} KiB, ${r.sections.length} sections, ${cam}), ${join(runDir, r.modelCard)}, ${r.figures.length} figures in ${join(runDir, 'figures')}/ (SVG + PNG)`;
}
