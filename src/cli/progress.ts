import { resolve } from 'node:path';
import type { RunEvent } from '../pipeline/index.js';

const fmtTime = (s: number) => (s >= 90 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

/**
 * Renders run events on stderr: a progress bar with ETA per epoch when stderr is a TTY (≤ 10 redraws/s), otherwise
 * one line per stage and per epoch; epoch lines name the monitored metric (`fit.monitor`, e.g. `val auc`), the one
 * early stopping and the best checkpoint follow (`*` marks a new best). Skipped files are listed by relative path.
 */
export function runRenderer(opts: { quiet?: boolean; monitor?: string } = {}): (e: RunEvent) => void {
  const monitor = `val ${opts.monitor ?? 'score'}`;
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let drawn = false;
  const endLine = () => { if (drawn) process.stderr.write('\n'); drawn = false; };
  return (e) => {
    if (opts.quiet) return;
    switch (e.type) {
      case 'stage':
        endLine();
        process.stderr.write(`» ${e.stage}${e.detail ? `: ${e.detail}` : ''}\n`);
        break;
      case 'item-skipped':
        endLine();
        process.stderr.write(`  skipped ${e.file}: ${e.code} ${e.reason}\n`);
        break;
      case 'phase-start':
        endLine();
        process.stderr.write(`» phase ${e.phase + 1}: ${e.epochs} epochs, ${e.trainable.toLocaleString('en')} of ${e.total.toLocaleString('en')} parameters trainable\n`);
        break;
      case 'progress':
      case 'batch-end': {
        if (!tty) return;
        const now = Date.now();
        const done = e.type === 'progress' ? e.done : e.batch;
        const total = e.type === 'progress' ? e.total : e.batches;
        if (now - last < 100 && done < total) return;
        last = now;
        const frac = total ? done / total : 1;
        const eta = frac > 0 ? ((e.elapsedMs / frac) * (1 - frac)) / 1000 : 0;
        const bar = '█'.repeat(Math.round(frac * 28)).padEnd(28, '·');
        const label = e.type === 'progress' ? e.phase : `epoch ${e.epoch + 1}`;
        const extra = e.type === 'batch-end' ? ` loss ${e.loss.toFixed(4)}` : '';
        process.stderr.write(`\r${label} ${bar} ${done}/${total} ETA ${fmtTime(eta)}${extra}   `);
        drawn = true;
        break;
      }
      case 'epoch-end': {
        endLine();
        const r = e.record;
        process.stderr.write(
          `  phase ${r.phase + 1} epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}  val loss ${r.valLoss.toFixed(4)}  ${monitor} ${r.valScore.toFixed(4)}${e.best ? ' *' : ''}  lr ${r.lr.toExponential(2)}  ${fmtTime(r.seconds)} (${r.imagesPerSecond.toFixed(0)} img/s)\n`,
        );
        break;
      }
    }
  };
}

const quote = (s: string) => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** What to run next on a finished run directory (named by its absolute path): predict, serve, report, index. */
export function nextCommands(runDir: string): string {
  const d = quote(resolve(runDir));
  return [
    'next:',
    `  medclass predict --run ${d} IMAGE…        labels, calibrated probabilities (--operating-point sensitivity:0.95 adds a decision)`,
    `  medclass serve --run ${d}                 web app and REST API (--private: the model runs in the browser)`,
    `  medclass report --run ${d}                report.html, model card and figures`,
    `  medclass index --run ${d}                 similar cases, k-NN head and UMAP for the report and the web app`,
  ].join('\n');
}
