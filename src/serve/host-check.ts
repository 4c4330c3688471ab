import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MedclassError } from '../errors.js';

/** Names every server answers to: the loopback host names (with any port). */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** The name part of a Host header (`[::1]:8080` → `::1`, `LocalHost.` → `localhost`), or undefined when malformed. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([a-z0-9_.-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]!.replace(/\.$/, '') : undefined;
}

/** An address as a Host name compares it: IPv4-mapped IPv6 (`::ffff:127.0.0.1`) as IPv4, brackets dropped, lower case. */
const bare = (a: string) => a.toLowerCase().replace(/^\[|\]$/g, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

/**
 * Whether a request's Host header names this server: a loopback name, one of `own` (the addresses the server is
 * bound to and the one the connection arrived at), or one of `allowed` (`'*'` accepts any name). Ports are not
 * compared. A missing or malformed Host is refused. This is the guard against DNS rebinding, where a page of
 * another site resolves its own name to 127.0.0.1 and then reads the API as same-origin.
 */
export function isAllowedHost(header: string | undefined, allowed: readonly string[], own: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  const name = header === undefined ? undefined : hostName(header);
  if (name === undefined) return false;
  return LOOPBACK_HOSTS.includes(name) || own.some((a) => bare(a) === name) || allowed.some((a) => bare(a).replace(/\.$/, '') === name);
}

/** The Host header as an error message may quote it: at most 80 characters, nothing but name characters. */
const shown = (h: string | undefined) => (h === undefined ? '(none)' : `'${h.slice(0, 80).replace(/[^\w.:[\]-]/g, '?')}'`);

/**
 * Refuses (403 MC_SERVE_BAD_HOST, before any route runs) every request whose Host header is not allowed by
 * `isAllowedHost`; the server's own addresses are read per request from the listening socket.
 */
export function installHostCheck(app: FastifyInstance, allowedHosts: readonly string[]): void {
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const own = [...(req.socket?.localAddress ? [req.socket.localAddress] : []), ...(app.server.listening ? app.addresses().flatMap((a) => (typeof a === 'string' ? [] : [a.address])) : [])];
    if (!isAllowedHost(req.headers.host, allowedHosts, own)) {
      throw new MedclassError('MC_SERVE_BAD_HOST',
        `Host ${shown(req.headers.host)} is not a name of this server (DNS-rebinding guard); use localhost or its address, or start it with --allowed-hosts`);
    }
  });
}
