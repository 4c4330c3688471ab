import type { Command } from 'commander';

/** Adds every sub-command to the program; each command module exports one `register*` function. */
export function registerCommands(program: Command): void {
  void program;
}
