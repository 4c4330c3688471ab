import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { DeidTreeOptions, deidentifyTree } from '../../data/index.js';
import { MedclassError } from '../../errors.js';
import { out, table } from '../output.js';

/** The environment variable that may hold the de-identification key (hex, ≥ 32 hex digits). */
export const DEID_KEY_ENV = 'MEDCLASS_DEID_KEY';

/**
 * The de-identification key: from `--key-file` (raw bytes, or hex text), else from MEDCLASS_DEID_KEY (hex), else 32
 * fresh random bytes (then UIDs and pseudonyms differ from any other run). Never from a flag value.
 */
function deidKey(keyFile: string | undefined): { key: Uint8Array; source: string } {
  const fromHex = (s: string, where: string) => {
    const t = s.trim();
    if (!/^([0-9a-fA-F]{2}){16,}$/.test(t)) throw new MedclassError('MC_CLI_BAD_OPTION', `${where}: expected at least 32 hex digits`, { hint: 'make one with: openssl rand -hex 32' });
    return new Uint8Array(Buffer.from(t, 'hex'));
  };
  if (keyFile) {
    const raw = readFileSync(keyFile);
    const text = raw.toString('latin1').trim();
    return { key: /^[0-9a-fA-F]+$/.test(text) ? fromHex(text, '--key-file') : new Uint8Array(raw), source: 'key file' };
  }
  const env = process.env[DEID_KEY_ENV];
  if (env) return { key: fromHex(env, DEID_KEY_ENV), source: DEID_KEY_ENV };
  return { key: new Uint8Array(randomBytes(32)), source: 'random (this run only)' };
}

const describe = (name: keyof typeof DeidTreeOptions.shape) => DeidTreeOptions.shape[name].description ?? '';

/** Registers `medclass dicom deid`. */
export function registerDicom(program: Command): void {
  const dicom = program.command('dicom').description('DICOM tools: de-identify files (PS3.15 Annex E Basic Profile)');
  dicom.command('deid')
    .description('De-identify DICOM files by the PS3.15 Annex E Basic Application Level Confidentiality Profile: Table E.1-1 actions, private tags removed, '
      + `UIDs and patient pseudonyms keyed by a secret (--key-file or ${DEID_KEY_ENV}, else random), dates removed or shifted per patient; `
      + 'files with BurnedInAnnotation = YES refused unless --include-burned-in')
    .argument('<in>', 'a DICOM file or a folder (searched recursively; non-DICOM files are left out)')
    .argument('<out>', 'output folder (outside <in>)')
    .addOption(new Option('--dates <mode>', describe('dates')).choices(['remove', 'shift']))
    .option('--include-burned-in', 'de-identify files with BurnedInAnnotation = YES too (their pixels are NOT cleaned; they are listed as flagged)')
    .option('--keep-paths', "mirror the input's relative paths (folder and file names are copied as they are: only if they carry no identifiers); default: OUT/<new StudyInstanceUID>/<new SOPInstanceUID>.dcm")
    .option('--key-file <file>', `secret key (raw bytes or hex) for UIDs, pseudonyms and date offsets; default: ${DEID_KEY_ENV} (hex), else a random key`)
    .option('--keep-mapping <file>', 'also write the re-identification mapping (original UIDs and PatientIDs) to this JSON file: it identifies patients, keep it apart from the output')
    .option('--json', 'print the summary as JSON')
    .action(async (input: string, output: string, opts: { dates?: 'remove' | 'shift'; includeBurnedIn?: boolean; keepPaths?: boolean; keyFile?: string; keepMapping?: string; json?: boolean }) => {
      const { key, source } = deidKey(opts.keyFile);
      const s = await deidentifyTree(input, output, key, {
        ...(opts.dates ? { dates: opts.dates } : {}),
        ...(opts.includeBurnedIn ? { burnedIn: 'include' as const } : {}),
        ...(opts.keepPaths ? { paths: 'keep' as const } : {}),
      });
      if (opts.keepMapping) {
        writeFileSync(opts.keepMapping, `${JSON.stringify(s.mapping, null, 2)}\n`, { mode: 0o600 });
        process.stderr.write(`warning: ${opts.keepMapping} maps the de-identified files back to patients (original UIDs and PatientIDs); store it apart from ${output}, never share it with the data\n`);
      }
      const flagged = s.written.filter((w) => w.burnedIn);
      if (opts.json) {
        out(JSON.stringify({ written: s.written.length, flagged: flagged.map((w) => w.out), failed: s.failed, notDicom: s.notDicom, seconds: s.seconds, filesPerSecond: s.filesPerSecond, key: source }, null, 2));
      } else {
        out(`${s.written.length} file(s) de-identified into ${output} in ${s.seconds.toFixed(2)} s (${s.filesPerSecond.toFixed(1)} files/s); key: ${source}`);
        if (s.notDicom) out(`${s.notDicom} non-DICOM file(s) left out`);
        if (flagged.length) out(`${flagged.length} file(s) flagged: BurnedInAnnotation = YES, pixels not cleaned:\n${flagged.map((w) => `  ${w.out}`).join('\n')}`);
        if (s.failed.length) out(table([['file', 'code', 'message'], ...s.failed.map((f) => [f.file, f.code, f.message])]));
      }
      process.exitCode = s.failed.length === 0 ? 0 : s.written.length ? 2 : 1;
    });
}
