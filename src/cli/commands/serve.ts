import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER } from '../../eval/index.js';
import { int8SaturationWarning } from '../../pipeline/index.js';
import { ListenOptions, ServeOptions, buildServer } from '../../serve/index.js';
import { out } from '../output.js';

interface ServeFlags {
  run: string; port?: number; host?: string; threads?: number; bodyLimit?: number; maxImages?: number; maxQueue?: number; maxBatch?: number; maxDelayMs?: number; busyDelayMs?: number; inferenceWorker?: boolean; inferenceNice?: number; int8?: boolean; k?: number; caseIds?: boolean; log?: boolean;
  maxPixels?: number; minSide?: number; allowedHosts?: string; operatingPoint?: string; private?: boolean;
}

const SERVE_DEFAULTS = ServeOptions.parse({});
const LISTEN_DEFAULTS = ListenOptions.parse({});
/** A flag's help line: the schema's description and its default (from the schema, never repeated here). */
const d = (shape: Record<string, { description?: string | undefined }>, defaults: Record<string, unknown>, key: string) => `${shape[key]!.description!} (default ${String(defaults[key])})`;

/** The flag of an option key (`bodyLimit` → `body-limit`, `logger` → `log`). */
const flagOf = (key: string) => (key === 'logger' ? 'log' : key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));

/** `medclass serve --run DIR [--port 8080] [--host 127.0.0.1] …`: the REST API and web app until SIGINT/SIGTERM. */
export function registerServe(program: Command): void {
  const s = (key: keyof ServeOptions) => d(ServeOptions.shape, SERVE_DEFAULTS, key);
  const l = (key: keyof ListenOptions) => d(ListenOptions.shape, LISTEN_DEFAULTS, key);
  program
    .command('serve')
    .description(`Serves one run directory: a web app at / (drop an image: prediction, Grad-CAM, similar cases) and a REST API (GET /api/health, /api/model; POST /api/predict, /api/explain, /api/similar with raw image bytes or JSON {"images":[{"data":"<base64>"}]}; GET /report). Sessions open once at start; Ctrl-C stops. ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory written by medclass train (index/ from medclass index enables similar cases)')
    .option('--port <n>', l('port'), Number)
    .option('--host <addr>', l('host'))
    .option('--threads <n>', s('threads'), Number)
    .option('--body-limit <bytes>', s('bodyLimit'), Number)
    .option('--max-images <n>', s('maxImages'), Number)
    .option('--max-queue <n>', s('maxQueue'), Number)
    .option('--max-batch <n>', s('maxBatch'), Number)
    .option('--max-delay-ms <ms>', s('maxDelayMs'), Number)
    .option('--inference-nice <n>', s('inferenceNice'), Number)
    .option('--busy-delay-ms <ms>', s('busyDelayMs'), Number)
    .option('--int8', s('int8'))
    .option('--no-inference-worker', `predict on the server's own thread; default: ${ServeOptions.shape.inferenceWorker.description!}`)
    .option('--k <n>', s('k'), Number)
    .option('--case-ids', s('caseIds'))
    .option('--log', `${ServeOptions.shape.logger.description!}, to stderr`)
    .option('--max-pixels <n>', s('maxPixels'), Number)
    .option('--min-side <px>', s('minSide'), Number)
    .option('--operating-point <point>', s('operatingPoint'))
    .option('--private', s('private'))
    .option('--allowed-hosts <names>', `${ServeOptions.shape.allowedHosts.description!}; comma list (the --host name is added)`)
    .action(async (f: ServeFlags) => {
      const pick = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      const listen = ListenOptions.safeParse(pick({ port: f.port, host: f.host }));
      // The bound host is allowed as a Host name (its address is allowed anyway; this covers a host name given to --host).
      const allowedHosts = [...(f.allowedHosts ?? '').split(',').map((h) => h.trim()).filter(Boolean), ...(listen.success ? [listen.data.host] : [])];
      const serve = ServeOptions.safeParse(pick({
        threads: f.threads, bodyLimit: f.bodyLimit, maxImages: f.maxImages, maxQueue: f.maxQueue, maxBatch: f.maxBatch, maxDelayMs: f.maxDelayMs, busyDelayMs: f.busyDelayMs, inferenceWorker: f.inferenceWorker, inferenceNice: f.inferenceNice, int8: f.int8 === true, k: f.k, caseIds: f.caseIds, logger: f.log,
        maxPixels: f.maxPixels, minSide: f.minSide, allowedHosts, operatingPoint: f.operatingPoint, private: f.private,
      }));
      for (const p of [serve, listen]) {
        if (!p.success) throw new MedclassError('MC_CLI_BAD_OPTION', `serve: ${p.error.issues.map((i) => `--${flagOf(String(i.path[0] ?? ''))}: ${i.message}`).join('; ')}`, { hint: 'medclass serve --help' });
      }
      const saturates = serve.data!.int8 ? int8SaturationWarning(f.run) : undefined;
      if (saturates) process.stderr.write(`warning: ${saturates}\n`);
      const app = buildServer(f.run, serve.data!, { stream: process.stderr });
      const address = await app.listen({ port: listen.data!.port, host: listen.data!.host });
      out(`medclass serve: ${address} (run ${f.run}) — ${DISCLAIMER}; Ctrl-C stops`);
      if (!['127.0.0.1', 'localhost', '::1'].includes(listen.data!.host)) {
        process.stderr.write(`warning: listening on ${listen.data!.host} exposes the server to the network; it has no authentication and no TLS\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          app.close().then(() => resolve(), () => resolve());
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      out('medclass serve: stopped');
      process.exitCode = 0;
    });
}
