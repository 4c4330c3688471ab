import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { gradCamExamples } from '../../pipeline/index.js';
import { writeReport, type GradCamReportInput } from '../../report/index.js';
import { out } from '../output.js';

/** `medclass report --run DIR`: writes report.html and model-card.md into the run directory. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write report.html (one self-contained page with inline SVG plots and Grad-CAM examples) and model-card.md into a run directory. Research software, not a diagnostic device')
    .requiredOption('--run <dir>', 'run directory written by medclass train (needs metrics.json)')
    .option('--data <source>', "data source for the Grad-CAM examples (default: the run's, from run.json)")
    .option('--no-gradcam', 'leave out the Grad-CAM examples (they need model.onnx and the data source)')
    .action(async (o: { run: string; data?: string; gradcam: boolean }) => {
      let gradCam: GradCamReportInput | undefined;
      if (o.gradcam) {
        try {
          gradCam = await gradCamExamples(o.run, o.data ? { data: o.data } : {});
        } catch (e) {
          gradCam = { unavailable: e instanceof MedclassError ? `${e.code}: ${e.message}` : (e as Error).message };
        }
      } else gradCam = { unavailable: 'left out (--no-gradcam).' };
      const r = writeReport(o.run, { generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), gradCam });
      const note = 'examples' in gradCam ? `, ${gradCam.examples.length} Grad-CAM examples` : `; no Grad-CAM examples (${gradCam.unavailable})`;
      out(`wrote ${r.html} (${(r.htmlBytes / 1024).toFixed(0)} KiB${note}) and ${r.modelCard} in ${o.run}\nResearch software, not a diagnostic device.`);
      process.exitCode = 0;
    });
}
