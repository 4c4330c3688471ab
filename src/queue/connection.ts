import { Redis } from 'ioredis';
import { MedclassError } from '../errors.js';

/** The BullMQ queue every medclass job goes through (one per Redis database). */
export const QUEUE_NAME = 'medclass';

/** Connection options for BullMQ from a `--queue` URL (workers block on Redis, so no per-request retry limit). */
export interface QueueConnection { url: string; maxRetriesPerRequest: null }

/** Validates a `--queue` URL: `redis://[user:pass@]host:port[/db]` or `rediss://…` (`MC_QUEUE_BAD_URL`). */
export function parseQueueUrl(url: string): QueueConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badUrl(url, 'not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw badUrl(url, `scheme ${u.protocol} is not redis: or rediss:`);
  if (!u.hostname) throw badUrl(url, 'no host');
  if (u.pathname && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname)) throw badUrl(url, `database ${u.pathname.slice(1)} is not a number`);
  return { url, maxRetriesPerRequest: null };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function badUrl(url: string, why: string): MedclassError {
  return new MedclassError('MC_QUEUE_BAD_URL', `--queue ${redactUrl(url)}: ${why}`, { hint: 'e.g. --queue redis://127.0.0.1:6379' });
}

/**
 * Checks that a Redis server answers PING at `url` within `timeoutMs` (`MC_QUEUE_UNREACHABLE` otherwise), so a wrong
 * URL fails at once instead of BullMQ retrying forever.
 */
export async function checkQueueReachable(url: string, timeoutMs = 5000): Promise<void> {
  parseQueueUrl(url);
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => { /* reported below */ });
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  } catch (cause) {
    throw new MedclassError('MC_QUEUE_UNREACHABLE', `no Redis server answered at ${redactUrl(url)}: ${(cause as Error).message}`, {
      cause, hint: 'start redis-server on that host (or fix host/port/password in --queue)',
    });
  } finally {
    client.disconnect();
  }
}
