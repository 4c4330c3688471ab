import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RunConfig, configFields, configReferenceMarkdown } from '../../src/pipeline/index.js';
import { runCli } from '../helpers/cli.js';

describe('run configuration reference', () => {
  it('docs/config.md is the generated reference (regenerate: medclass config --reference > docs/config.md)', () => {
    const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
    expect(doc).toBe(configReferenceMarkdown());
  });

  it('lists every field with a description, and its defaults are the schema defaults', () => {
    const fields = configFields();
    const byPath = new Map(fields.map((f) => [f.path, f]));
    for (const f of fields) expect(f.description, `${f.path} has no description`).not.toBe('');
    // leaves the user sets most often, and what RunConfig itself fills in for them
    const filled = RunConfig.parse({ data: { source: 'x' } });
    expect(byPath.get('data.source')?.required).toBe(true);
    expect(byPath.get('fit.batchSize')?.default).toBe(filled.fit.batchSize);
    expect(byPath.get('fit.augment.zoom')?.type).toContain('[number (> 0), number (> 0)]');
    expect(byPath.get('eval.targetSensitivity')?.default).toBe(filled.eval.targetSensitivity);
    expect(byPath.get('fit.phases[].trainable')?.default).toBe('all');
    expect(byPath.has('fit.augment.sharpness') && byPath.has('data.tabular.categorical')).toBe(true);
  });

  it('medclass config FILE prints the config with defaults filled in; a bad field is named with the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mc-config-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'data: { source: "phantom:" }\nfit: { epochs: 3 }\n');
    const r = await runCli(['config', good]);
    expect(r.code).toBe(0);
    const printed = parseYaml(r.stdout) as RunConfig;
    expect(printed).toEqual(RunConfig.parse({ data: { source: 'phantom:' }, fit: { epochs: 3 } }));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'data: { source: "phantom:" }\nfit: { epochs: -1, augment: { zoom: [1.4, 1.1] } }\n');
    const e = await runCli(['config', bad]);
    expect(e.code).not.toBe(0);
    expect(e.stderr).toContain(bad);
    expect(e.stderr).toMatch(/fit\.epochs/);
    expect(e.stderr).toMatch(/fit\.augment\.zoom/);
  });
});
