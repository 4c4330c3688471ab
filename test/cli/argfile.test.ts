import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandArgFiles } from '../../src/cli/argfile.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

describe('expandArgFiles (@FILE arguments)', () => {
  it('replaces @FILE by its non-empty lines (CRLF too), keeps other arguments and un-escapes @@', () => {
    const dir = mkdtempSync(join(tmpdir(), 'medclass-argfile-'));
    try {
      const f = join(dir, 'list.txt');
      writeFileSync(f, 'a.png\r\n\n@@odd name.png\n--json\n');
      expect(expandArgFiles(['node', 'medclass', 'predict', '--run', 'r', `@${f}`, 'b.png', '@@at.png']))
        .toEqual(['node', 'medclass', 'predict', '--run', 'r', 'a.png', '@odd name.png', '--json', 'b.png', '@at.png']);
    } finally {
      removeTempDir(dir);
    }
  });

  it('a missing argument file is an MC_CLI_BAD_OPTION naming the file', () => {
    expect(() => expandArgFiles(['node', 'medclass', '@/nonexistent/list.txt'])).toThrow(/@\/nonexistent\/list\.txt: cannot read the argument file \(ENOENT\)/);
  });
});
