// The issue-4 throughput configurations through the CLI (`medclass bench … --json`), one JSON line each:
// ResNet-18 (28 px, 1 channel, batch 128) training; MobileNetV2-224 (shared TF model, all parameters trainable,
// batch 32) training and inference. PyTorch 1.13 on the same 2 cores: 9.3, 3.1 and 24 img/s.
// Args: [threads=2]. Set the machine idle first: figures scale with free cores.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../bin/medclass.js', import.meta.url));
const threads = process.argv[2] ?? '2';
const CONFIGS = [
  ['train', '--arch', 'resnet18-28', '--batch', '128', '--steps', '5'],
  ['train', '--arch', 'mobilenet_v2-224', '--batch', '32', '--steps', '5'],
  ['infer', '--arch', 'mobilenet_v2-224', '--batch', '32', '--steps', '10'],
];
let failed = 0;
for (const c of CONFIGS) {
  const r = spawnSync(process.execPath, [cli, 'bench', ...c, '--threads', threads, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) failed++;
  else console.log(line);
}
process.exitCode = failed ? 1 : 0;
