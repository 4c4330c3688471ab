import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadModel } from '../../engine/index.js';
import { inspectBackbone, readBackboneSidecar, sidecarPath } from '../../models/index.js';
import { out, table } from '../output.js';

const shape = (d: readonly (number | string)[]) => `[${d.join(',')}]`;

/** `medclass backbone inspect FILE`: what an ONNX backbone offers for import (inputs, preprocessing, cuts, `last:N`). */
export function registerBackbone(program: Command): void {
  const bb = program.command('backbone').description('Imported ONNX backbones (see docs/backbones.md)')
    .summary('inspect an ONNX backbone: inputs, preprocessing, cut tensors, last:N');
  bb.command('inspect')
    .description('print an ONNX backbone\'s inputs, its preprocessing (from the <name>.preprocess.json sidecar of tools/export-backbone.py), candidate cut tensors (pooled [N,D] embeddings, last conv maps) and what fit.phases trainable: last:N counts')
    .argument('<file>', 'ONNX model')
    .option('--blocks <n>', 'block boundaries to list, from the end (default 12; 0 = all)', '12')
    .option('--json [file]', 'write the inspection as JSON to a file, or to stdout without a file')
    .addHelpText('after', '\nExamples:\n  python3 tools/export-backbone.py resnet50 --out resnet50.onnx\n  medclass backbone inspect resnet50.onnx')
    .action((file: string, o: { blocks: string; json?: string | boolean }) => {
      const g = loadModel(file);
      const r = inspectBackbone(g);
      const pre = readBackboneSidecar(file);
      if (o.json !== undefined) {
        const text = `${JSON.stringify({ file, preprocess: pre ?? null, ...r }, null, 2)}\n`;
        if (typeof o.json === 'string') writeFileSync(o.json, text);
        else { out(text.trimEnd()); return; }
      }
      const lines: string[] = [`backbone ${file} (opset ${g.opset}, ${g.nodes.length} nodes)`, ''];
      lines.push(table([['input', 'shape', 'dtype'], ...r.inputs.map((v) => [v.name, shape(v.dims), v.dtype])]), '');
      lines.push(table([['output', 'shape', 'dtype'], ...r.outputs.map((v) => [v.name, shape(v.dims), v.dtype])]), '');
      if (pre) {
        lines.push(`preprocessing (${sidecarPath(file)}): ${pre.size}×${pre.size}, ${pre.channels} channels, mean [${pre.mean.join(', ')}], std [${pre.std.join(', ')}]${pre.source ? `, ${pre.source}` : ''}${pre.weights ? ` (${pre.weights} weights)` : ''}`);
        lines.push(pre.normalize
          ? `  config: data.preprocess: { size: ${pre.size}, channels: ${pre.channels}, normalize: ${pre.normalize} }   (channels: 1 sums the first conv's RGB weights for grey images)`
          : '  this mean/std matches no data.preprocess.normalize preset (imagenet, half, none)');
        if (pre.features_note) lines.push(`  features: ${pre.features_note}`);
      } else lines.push(`preprocessing: unknown (no ${sidecarPath(file)}); set data.preprocess to what the model was trained with`);
      lines.push('');
      const cands = [...r.pooled.map((c) => ['embedding (pooled)', c.name, shape(c.dims), c.producer]), ...r.maps.map((c) => ['features (map)', c.name, shape(c.dims), c.producer])];
      lines.push(`candidate cut tensors (every path from the input to '${r.target}' crosses them; shapes at batch 1):`);
      lines.push(table([['use as', 'tensor', 'shape', 'produced by'], ...cands]), '');
      lines.push(`last:N trains the head plus the last N of ${r.layers.length} weight layers (nodes with a ≥ 2-D weight: ${Object.entries(r.layerOps).map(([k, v]) => `${v} ${k}`).join(', ')}; each with the norm scales/biases after it); the whole trunk is 'all'.`);
      lines.push(`${r.blocks.length} block boundaries (tensors a single cut can start at; cached-trunk phases run everything before them once per image):`);
      const limit = Number(o.blocks) > 0 ? Number(o.blocks) : r.blocks.length;
      const rows = r.blocks.slice(0, limit).map((b) => [b.from === b.to ? `last:${b.from}` : `last:${b.from}–${b.to}`, b.tensor, shape(b.dims), r.layers[r.layers.length - b.to]!.node]);
      lines.push(table([['N', 'starts after tensor', 'shape', 'first layer of the block'], ...rows]));
      if (limit < r.blocks.length) lines.push(`… ${r.blocks.length - limit} more (--blocks 0 lists all)`);
      out(lines.join('\n'));
    });
}
