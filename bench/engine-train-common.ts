// Shared by the engine training benchmarks: time a compiled training step and print one JSON line.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Graph, Tensor } from '../src/engine/index.js';
import { createOptimizer } from '../src/engine/optim/create.js';
import { ParameterStore } from '../src/engine/params.js';
import { Trainer } from '../src/engine/trainer.js';

const pkg = (p: string) => JSON.parse(readFileSync(new URL(p, import.meta.url), 'utf8')) as { version: string };

export interface TrainBenchConfig {
  name: string;
  graph: Graph;
  params: ParameterStore;
  feeds: Record<string, Tensor>;
  extraFeeds?: Record<string, Tensor>;
  keepOutputs?: string[];
  batch: number;
  steps: number;
  warmup: number;
  threads: number;
  config: Record<string, unknown>;
}

/** Compiles, warms up, times `steps` training steps (forward, loss, backward, AdamW update) and prints one JSON line. */
export async function benchTrainStep(c: TrainBenchConfig): Promise<void> {
  const t0 = performance.now();
  const t = await Trainer.compile(c.graph, {
    params: c.params, optimizer: createOptimizer({ name: 'adamw', lr: 1e-3 }), loss: { kind: 'cross-entropy' },
    ...(c.keepOutputs ? { keepOutputs: c.keepOutputs } : {}), options: { threads: c.threads },
  });
  const compileMs = performance.now() - t0;
  const times: number[] = [];
  const run: number[] = [];
  const update: number[] = [];
  try {
    for (let i = 0; i < c.warmup + c.steps; i++) {
      const s = performance.now();
      const r = await t.step(c.feeds, c.extraFeeds);
      if (i >= c.warmup) {
        times.push(performance.now() - s);
        run.push(r.runMs);
        update.push(r.updateMs);
      }
    }
  } finally {
    await t.dispose();
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const median = med(times);
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({
    name: c.name, config: { ...c.config, batch: c.batch, steps: c.steps, threads: c.threads },
    compile_ms: Math.round(compileMs), median_ms: +median.toFixed(2), min_ms: +times[0]!.toFixed(2), max_ms: +times.at(-1)!.toFixed(2),
    run_median_ms: +med(run).toFixed(2), update_median_ms: +med(update).toFixed(2),
    img_per_s: +((c.batch * 1000) / median).toFixed(2), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
    onnxruntime: pkg('../node_modules/onnxruntime-node/package.json').version, medclass: pkg('../package.json').version,
  }));
}
