import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { DicomWebClient, fetchDicomWebDataset, type DicomWebAuth } from '../../data/index.js';
import { DicomWebPredictOptions, dicomwebPredict, dicomwebWatch } from '../../pacs/index.js';
import { MedclassError } from '../../errors.js';
import { out, table } from '../output.js';

/** Environment variables the DICOMweb commands read credentials from (never a flag value). */
export const DICOMWEB_ENV = { user: 'MEDCLASS_DICOMWEB_USER', password: 'MEDCLASS_DICOMWEB_PASSWORD', token: 'MEDCLASS_DICOMWEB_TOKEN' } as const;

/**
 * Credentials: `--credentials-file` (JSON `{"user", "password"}` or `{"token"}`, or one `user:password` line), else
 * MEDCLASS_DICOMWEB_TOKEN, else MEDCLASS_DICOMWEB_USER + MEDCLASS_DICOMWEB_PASSWORD, else none.
 */
export function dicomWebAuth(file: string | undefined, env: NodeJS.ProcessEnv = process.env): DicomWebAuth | undefined {
  if (file) {
    const text = readFileSync(file, 'utf8').trim();
    if (text.startsWith('{')) {
      let j: { user?: unknown; password?: unknown; token?: unknown };
      try { j = JSON.parse(text); } catch { throw new MedclassError('MC_CLI_BAD_OPTION', '--credentials-file: not valid JSON'); }
      if (typeof j.token === 'string') return { token: j.token };
      if (typeof j.user === 'string' && typeof j.password === 'string') return { user: j.user, password: j.password };
      throw new MedclassError('MC_CLI_BAD_OPTION', '--credentials-file: expected {"user", "password"} or {"token"}');
    }
    const i = text.indexOf(':');
    if (i <= 0 || text.includes('\n')) throw new MedclassError('MC_CLI_BAD_OPTION', '--credentials-file: expected one user:password line or JSON');
    return { user: text.slice(0, i), password: text.slice(i + 1) };
  }
  if (env[DICOMWEB_ENV.token]) return { token: env[DICOMWEB_ENV.token]! };
  const user = env[DICOMWEB_ENV.user];
  const password = env[DICOMWEB_ENV.password];
  if (user !== undefined || password !== undefined) {
    if (!user || password === undefined) throw new MedclassError('MC_CLI_BAD_OPTION', `set both ${DICOMWEB_ENV.user} and ${DICOMWEB_ENV.password}`);
    return { user, password };
  }
  return undefined;
}

function intOption(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new MedclassError('MC_CLI_BAD_OPTION', `${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

/** `--query 'Modality=CR&StudyDate=20240101-'` as QIDO-RS matching keys. */
function queryFrom(q: string | undefined): Record<string, string> {
  if (!q) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(q)) {
    if (!/^[A-Za-z][A-Za-z0-9]*$|^[0-9A-Fa-f]{8}$/.test(k)) throw new MedclassError('MC_CLI_BAD_OPTION', `--query: '${k}' is not a DICOM keyword or tag`);
    out[k] = v;
  }
  return out;
}

const describe = (name: keyof typeof DicomWebPredictOptions.shape) => DicomWebPredictOptions.shape[name].description ?? '';

/** Registers `medclass dicomweb predict`. */
export function registerDicomWeb(program: Command): void {
  const dw = program.command('dicomweb').description('DICOMweb (QIDO-RS / WADO-RS / STOW-RS) round trips with a PACS');
  dw.command('predict')
    .description('Find instances (QIDO-RS), retrieve them (WADO-RS), classify them with a run and store one Comprehensive SR per instance back (STOW-RS). '
      + `Instances already done for this model (--state file) are skipped. Credentials: --credentials-file, or ${DICOMWEB_ENV.user} + ${DICOMWEB_ENV.password}, or ${DICOMWEB_ENV.token}. `
      + 'TLS certificates are verified (extra CAs: NODE_EXTRA_CA_CERTS). Research use only; not a diagnostic device.')
    .requiredOption('--url <url>', 'DICOMweb root, e.g. https://pacs.example.org/dicom-web (no credentials in it)')
    .requiredOption('--run <dir>', 'trained run directory')
    .option('--study <uid>', describe('study'))
    .option('--series <uid>', describe('series'))
    .option('--query <keys>', "QIDO-RS matching keys as a query string, e.g. 'Modality=CR&StudyDate=20240101-'")
    .option('--state <file>', 'file recording the instances already done (hashed, no UIDs in it)', 'dicomweb-state.json')
    .option('--credentials-file <file>', 'JSON {"user","password"} or {"token"}, or one user:password line')
    .option('--grad-cam', describe('gradCam'))
    .addOption(new Option('--batch-size <n>', describe('batchSize')).argParser(intOption('--batch-size')))
    .addOption(new Option('--threads <n>', describe('threads')).argParser(intOption('--threads')))
    .addOption(new Option('--timeout <ms>', 'per-request timeout in milliseconds').default(60_000).argParser(intOption('--timeout')))
    .option('--json', 'print the summary as JSON (with the SOP Instance UIDs)')
    .action(async (o: { url: string; run: string; study?: string; series?: string; query?: string; state: string; credentialsFile?: string; gradCam?: boolean; batchSize?: number; threads?: number; timeout: number; json?: boolean }) => {
      const auth = dicomWebAuth(o.credentialsFile);
      const client = new DicomWebClient({ url: o.url, timeoutMs: o.timeout, ...(auth ? { auth } : {}) });
      const s = await dicomwebPredict(client, o.run, o.state, {
        query: queryFrom(o.query), ...(o.study ? { study: o.study } : {}), ...(o.series ? { series: o.series } : {}),
        ...(o.batchSize ? { batchSize: o.batchSize } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.gradCam ? { gradCam: true } : {}),
      }, (e) => { if (e.type === 'batch-done') process.stderr.write(`${e.done}/${e.pending} instance(s): ${e.stored} stored, ${e.failed} failed\n`); });
      if (o.json) out(JSON.stringify({ disclaimer: 'research use only; not a diagnostic device', ...s }, null, 2));
      else {
        out(`${s.found} instance(s) found, ${s.skipped} already done, ${s.stored.length} SR(s) stored, ${s.failed.length} failed, ${s.seconds.toFixed(1)} s`);
        if (s.failed.length) out(table([['instance', 'code', 'message'], ...s.failed.map((f) => [String(f.index), f.code, f.message])]));
      }
      process.exitCode = s.failed.length === 0 ? 0 : s.stored.length ? 2 : 1;
    });

  dw.command('fetch')
    .description('Fetch a labelled dataset from a PACS: a CSV with a label column and a study (StudyInstanceUID) or sop (SOPInstanceUID) column '
      + '(optional split, and name = the file name to write) is resolved by QIDO-RS and the instances are cached by WADO-RS as <out>/<label>/<name>, '
      + 'with <out>/manifest.csv (path,label,split,group; group = a keyed digest of the PatientID). Cached files are not fetched again. '
      + 'Train on <out> (folder) or <out>/manifest.csv (CSV with split and group).')
    .requiredOption('--url <url>', 'DICOMweb root (no credentials in it)')
    .requiredOption('--csv <file>', 'labels CSV')
    .requiredOption('--out <dir>', 'cache folder')
    .option('--credentials-file <file>', 'JSON {"user","password"} or {"token"}, or one user:password line')
    .addOption(new Option('--timeout <ms>', 'per-request timeout in milliseconds').default(60_000).argParser(intOption('--timeout')))
    .action(async (o: { url: string; csv: string; out: string; credentialsFile?: string; timeout: number }) => {
      const auth = dicomWebAuth(o.credentialsFile);
      const client = new DicomWebClient({ url: o.url, timeoutMs: o.timeout, ...(auth ? { auth } : {}) });
      const s = await fetchDicomWebDataset(client, o.csv, o.out);
      out(`${s.rows} row(s), ${s.instances} instance(s): ${s.fetched} fetched, ${s.cached} already cached, ${s.failed.length} failed; ${o.out}/${s.manifest} written`);
      if (s.failed.length) out(table([['line', 'code', 'message'], ...s.failed.map((f) => [String(f.row), f.code, f.message])]));
      process.exitCode = s.failed.length === 0 ? 0 : s.fetched + s.cached ? 2 : 1;
    });

  dw.command('watch')
    .description('Poll QIDO-RS for studies from --since on and classify every new instance as `dicomweb predict` does (one SR each, STOW-RS), '
      + 'until interrupted (Ctrl-C finishes the pass under way). The --state file makes a restart skip what is done. Research use only.')
    .requiredOption('--url <url>', 'DICOMweb root (no credentials in it)')
    .requiredOption('--run <dir>', 'trained run directory')
    .requiredOption('--since <date>', 'first StudyDate to watch, YYYYMMDD')
    .addOption(new Option('--interval <s>', 'seconds between polls').default(30).argParser(intOption('--interval')))
    .option('--query <keys>', "further QIDO-RS matching keys, e.g. 'Modality=CR'")
    .option('--state <file>', 'file recording the instances already done (hashed, no UIDs in it)', 'dicomweb-state.json')
    .option('--credentials-file <file>', 'JSON {"user","password"} or {"token"}, or one user:password line')
    .option('--grad-cam', describe('gradCam'))
    .addOption(new Option('--threads <n>', describe('threads')).argParser(intOption('--threads')))
    .addOption(new Option('--timeout <ms>', 'per-request timeout in milliseconds').default(60_000).argParser(intOption('--timeout')))
    .action(async (o: { url: string; run: string; since: string; interval: number; query?: string; state: string; credentialsFile?: string; gradCam?: boolean; threads?: number; timeout: number }) => {
      const auth = dicomWebAuth(o.credentialsFile);
      const client = new DicomWebClient({ url: o.url, timeoutMs: o.timeout, ...(auth ? { auth } : {}) });
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const s = await dicomwebWatch(client, o.run, o.state, {
        since: o.since, intervalMs: Math.max(1, o.interval) * 1000, query: queryFrom(o.query), ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.gradCam ? { gradCam: true } : {}),
      }, {
        signal: stop.signal,
        onEvent: (e) => {
          const f = e.summary.failed;
          out(`${new Date().toISOString()} poll ${e.poll}: ${e.summary.found} found, ${e.summary.stored.length} SR(s) stored, ${f.length} failed${f.length ? ` (${[...new Set(f.map((x) => x.code))].join(', ')})` : ''}`);
        },
        onPollError: (e) => process.stderr.write(`${e.code}: ${e.message} (retrying at the next poll)\n`),
      });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      out(`stopped after ${s.polls} poll(s): ${s.stored} SR(s) stored, ${s.failed} failed`);
      process.exitCode = 0;
    });
}
