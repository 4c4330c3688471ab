// The CLI entry: the only place (with src/cli/*) that touches process.argv, process.exit and stdout.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { registerCompare } from './commands/compare.js';
import { registerBackbone } from './commands/backbone.js';
import { printError } from './output.js';
import { expandArgFiles } from './argfile.js';
import { GROUP_KEY_ENV, setPatientGroupKey } from '../data/index.js';

const program = new Command('medclass')
  .description('Medical image classification toolkit: audit data, train, calibrate, evaluate, explain.\nResearch software, not a diagnostic device.')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);
registerCompare(program);
registerBackbone(program);

try {
  setPatientGroupKey(process.env[GROUP_KEY_ENV]);
  await program.parseAsync(expandArgFiles(process.argv));
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else {
    printError(e);
    process.exitCode = 1;
  }
}
