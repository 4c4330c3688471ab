// docs/python.md in practice: Debian's python3-pandas / python3-sklearn read a run directory and get metrics.json's AUC.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainTinyRun } from './pipeline/predict-helpers.js';

const PYTHON = '/usr/bin/python3';

// The snippet of docs/python.md ("Read the predictions"), as a script: prints what it found as JSON.
const SCRIPT = String.raw`
import json, sys
from pathlib import Path
import pandas as pd
from sklearn.metrics import roc_auc_score

run = Path(sys.argv[1])
manifest = json.loads((run / "run.json").read_text())
classes = manifest["classes"]
metrics = json.loads((run / "metrics.json").read_text())
df = pd.read_csv(run / "predictions.csv", keep_default_na=False)
test = df[df["split"] == "test"]
probs = test[[f"cal_prob_{k}" for k in range(len(classes))]].to_numpy()
print(json.dumps({
    "classes": classes,
    "auc": roc_auc_score(test["label"], probs[:, 1]),
    "metrics_auc": metrics["test"]["roc_auc"],
    "rows": int(len(test)),
    "row_sums_max_dev": float(abs(probs.sum(axis=1) - 1).max()),
    "names_match": bool((test["label_name"] == test["label"].map(lambda i: classes[i])).all()),
    "pred_is_argmax": bool((test["pred_name"] == pd.Series(probs.argmax(axis=1), index=test.index).map(lambda i: classes[i])).all()),
}))
`;

let runDir: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ runDir, cleanup } = await trainTinyRun('python', { bootstrap: 0 }));
}, 120_000);

afterAll(() => cleanup?.());

describe('a run directory read from Python', () => {
  it.skipIf(!existsSync(PYTHON))('pandas + scikit-learn roc_auc_score on predictions.csv equals metrics.json to 1e-9', () => {
    const out = execFileSync(PYTHON, ['-c', SCRIPT, runDir], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(r.classes).toEqual(JSON.parse(readFileSync(join(runDir, 'preprocess.json'), 'utf8')).classes);
    expect(r.rows).toBeGreaterThan(5);
    expect(Math.abs(r.auc - r.metrics_auc)).toBeLessThan(1e-9);
    expect(r.row_sums_max_dev).toBeLessThan(1e-12);
    expect(r.names_match).toBe(true);
    expect(r.pred_is_argmax).toBe(true);
  });

  it('the calibrated columns use the temperature of calibration.json', () => {
    const T = JSON.parse(readFileSync(join(runDir, 'calibration.json'), 'utf8')).temperature as number;
    const [head, first] = readFileSync(join(runDir, 'predictions.csv'), 'utf8').split('\n');
    const cols = head!.split(',');
    const v = first!.split(',');
    const z = [Number(v[cols.indexOf('logit_0')]), Number(v[cols.indexOf('logit_1')])];
    const e = z.map((x) => Math.exp(x / T));
    // the logits are written to 8 decimals (±5e-9 each) and cal_prob from the unrounded ones: |∂p/∂z| ≤ 1/(4T)
    const bound = (2 * 5e-9) / (4 * T) + 1e-15;
    expect(Math.abs(Number(v[cols.indexOf('cal_prob_1')]) - e[1]! / (e[0]! + e[1]!))).toBeLessThanOrEqual(bound);
  });
});
