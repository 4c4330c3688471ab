import type { Command } from 'commander';
import { registerData } from './data.js';
import { registerDemo } from './demo.js';
import { registerEngine } from './engine.js';
import { registerMetrics } from './metrics.js';
import { registerTrain } from './train.js';
import { registerKFold } from './kfold.js';
import { registerPredict } from './predict.js';
import { registerEval } from './eval.js';
import { registerReport } from './report.js';
import { registerBench } from './bench.js';

/** Adds every sub-command to the program; each command module exports one `register*` function. */
export function registerCommands(program: Command): void {
  void program;
  registerDemo(program);
  registerEngine(program);
  registerData(program);
  registerMetrics(program);
  registerTrain(program);
  registerKFold(program);
  registerPredict(program);
  registerEval(program);
  registerReport(program);
  registerBench(program);
}
