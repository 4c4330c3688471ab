// Starts a real Orthanc (Debian packages `orthanc` + `orthanc-dicomweb`) on 127.0.0.1 for a test: a free HTTP port,
// the DICOM (DIMSE) server off, its own storage folder in a temp dir, the DICOMweb plugin loaded, remote access off,
// optional HTTP basic-auth users. `stop()` ends the process and removes the folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ORTHANC_BIN = ['/usr/sbin/Orthanc', '/usr/bin/Orthanc'];
const PLUGIN_NAME = 'libOrthancDicomWeb.so';

/** A running Orthanc: its REST base URL, its DICOMweb root, the users it accepts, its log so far, and `stop()`. */
export interface OrthancServer {
  readonly url: string;
  readonly dicomWebUrl: string;
  readonly dir: string;
  readonly users: Readonly<Record<string, string>>;
  /** everything Orthanc wrote to stdout and stderr */
  logs(): string;
  stop(): Promise<void>;
}

/** The Orthanc executable, or undefined when the package is not installed. */
export function orthancBinary(): string | undefined {
  return ORTHANC_BIN.find((p) => existsSync(p));
}

/** The DICOMweb plugin's shared object, from the package's file list (`dpkg -L orthanc-dicomweb`). */
export function dicomWebPlugin(): string | undefined {
  const listed = spawnSync('dpkg', ['-L', 'orthanc-dicomweb'], { encoding: 'utf8' });
  const fromDpkg = listed.status === 0 ? listed.stdout.split('\n').find((l) => l.endsWith(`/${PLUGIN_NAME}`) && existsSync(l)) : undefined;
  return fromDpkg ?? [`/usr/share/orthanc/plugins/${PLUGIN_NAME}`].find((p) => existsSync(p));
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, users: Record<string, string>, proc: ChildProcess, logs: () => string, timeoutMs: number): Promise<void> {
  const [user, password] = Object.entries(users)[0] ?? [];
  const headers: Record<string, string> = user ? { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {};
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`Orthanc exited with code ${proc.exitCode}:\n${logs().slice(-2000)}`);
    try {
      const r = await fetch(`${url}/system`, { headers });
      if (r.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Orthanc did not answer on ${url} within ${timeoutMs} ms:\n${logs().slice(-2000)}`);
}

/**
 * Starts Orthanc with a temporary JSON configuration and waits until `GET /system` answers. Throws, naming the
 * missing package, when Orthanc or its DICOMweb plugin is not installed (`apt-get install orthanc orthanc-dicomweb`).
 */
export async function startOrthanc(opts: { users?: Record<string, string>; timeoutMs?: number } = {}): Promise<OrthancServer> {
  // A port found free can be taken by another process before Orthanc binds it: then Orthanc exits, and we try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (attempt >= 3 || !/exited with code/.test((e as Error).message)) throw e;
    }
  }
}

async function startOnce(opts: { users?: Record<string, string>; timeoutMs?: number }): Promise<OrthancServer> {
  const bin = orthancBinary();
  const plugin = dicomWebPlugin();
  if (!bin || !plugin) throw new Error(`Orthanc tests need the Debian packages orthanc and orthanc-dicomweb (missing: ${!bin ? 'Orthanc' : PLUGIN_NAME})`);
  const dir = mkdtempSync(join(tmpdir(), 'mc-orthanc-'));
  const port = await freePort();
  const users = opts.users ?? {};
  const auth = Object.keys(users).length > 0;
  const config = {
    Name: 'medclass-test', StorageDirectory: join(dir, 'storage'), IndexDirectory: join(dir, 'index'),
    HttpPort: port, DicomServerEnabled: false, RemoteAccessAllowed: false, AuthenticationEnabled: auth, ...(auth ? { RegisteredUsers: users } : {}),
    HttpThreadsCount: 8, ConcurrentJobs: 1, SaveJobs: false, StableAge: 1, Plugins: [plugin],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, WadoRoot: '/wado', Ssl: false, StowMaxInstances: 0, StowMaxSize: 0 },
  };
  writeFileSync(join(dir, 'orthanc.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  let log = '';
  const proc = spawn(bin, [join(dir, 'orthanc.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => { log += d.toString('utf8'); });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString('utf8'); });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, users, proc, () => log, opts.timeoutMs ?? 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, dicomWebUrl: `${url}/dicom-web`, dir, users, logs: () => log, stop };
}
