import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// `--json [file]` takes an optional value: `predict --json a.png b.png` used to read a.png as the output file and
// replace the image with JSON (it overwrote a shared DICOM sample once).
describe('per-file commands refuse a --json target that is an existing non-JSON file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mc-json-target-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const command of ['predict', 'explain', 'similar']) {
    it(`${command} --json IMAGE leaves the image untouched and exits with MC_CLI_BAD_OPTION`, async () => {
      const image = join(dir, `${command}.png`);
      const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
      writeFileSync(image, bytes);
      const r = await runCli([command, '--run', join(dir, 'no-run'), '--json', image, join(dir, 'other.png')]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('MC_CLI_BAD_OPTION');
      expect(r.stderr).toContain('is not a .json file');
      expect(readFileSync(image).equals(bytes)).toBe(true);
    });
  }
});
