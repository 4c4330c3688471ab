import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { configReferenceMarkdown } from '../../pipeline/index.js';
import { out } from '../output.js';
import { loadRunConfig } from './train.js';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('check a run configuration and print it with every default filled in; or print the field reference (docs/config.md)')
    .argument('[file]', 'run configuration (YAML or JSON) to check')
    .option('--reference', 'print every configuration field with its type, default and meaning (Markdown)')
    .option('--json', 'print the checked configuration as JSON instead of YAML')
    .addHelpText('after', '\nExamples:\n  medclass config examples/pneumoniamnist.yaml\n  medclass config --reference > docs/config.md')
    .action((file: string | undefined, o: { reference?: boolean; json?: boolean }) => {
      if (o.reference || !file) {
        out(configReferenceMarkdown().trimEnd());
        return;
      }
      const cfg = loadRunConfig({ config: file });
      out(o.json ? JSON.stringify(cfg, null, 2) : toYaml(cfg).trimEnd());
    });
}
