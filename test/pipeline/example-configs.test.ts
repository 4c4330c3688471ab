import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RunConfig } from '../../src/pipeline/index.js';

// Every example config must load as a run config and point at data and models that exist (paths are relative to the
// repo root, where the README runs them), so a renamed field or a moved file breaks here, not in a 20-minute run.
const dir = 'examples';
const configs = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('example configs', () => {
  it('there are example configs', () => expect(configs.length).toBeGreaterThanOrEqual(8));
  for (const file of configs) {
    it(`${file} parses and its files exist`, () => {
      const cfg = RunConfig.parse(parseYaml(readFileSync(join(dir, file), 'utf8')));
      expect(existsSync(cfg.data.source), cfg.data.source).toBe(true);
      if (cfg.model.backbone) expect(existsSync(cfg.model.backbone), cfg.model.backbone).toBe(true);
      if (cfg.data.groupPattern) expect(() => new RegExp(cfg.data.groupPattern!)).not.toThrow();
    });
  }
});
