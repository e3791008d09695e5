// Where a webhook may send (SSRF). A webhook URL is chosen by a scope's operator, and
// the swarm's network reaches services that are not public (Postgres, NATS, OpenFGA,
// a cloud's metadata endpoint at 169.254.169.254): loopback, private, link-local,
// shared, multicast and reserved addresses are refused unless WEBHOOK_ALLOW_NETS lists
// them. The check runs when a webhook is configured (a clear 400) AND on every
// connection, on the address actually dialled (a DNS name that pointed somewhere
// public at configuration can point at 127.0.0.1 later).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4'];
// IPv4-mapped addresses (::ffff:a.b.c.d) are matched against the IPv4 ranges by BlockList itself.
const V6 = ['::/128', '::1/128', '64:ff9b::/96', '64:ff9b:1::/48', '100::/64', '2001:db8::/32', '2002::/16', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8'];

const NOT_PUBLIC = new BlockList();
for (const c of V4) NOT_PUBLIC.addSubnet(c.split('/')[0]!, Number(c.split('/')[1]), 'ipv4');
for (const c of V6) NOT_PUBLIC.addSubnet(c.split('/')[0]!, Number(c.split('/')[1]), 'ipv6');

/** WEBHOOK_ALLOW_NETS: comma-separated addresses or CIDRs that are allowed although not public. */
export function parseAllowNets(spec: string): BlockList {
  const list = new BlockList();
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [ip, bits] = raw.split('/') as [string, string | undefined];
    const v = isIP(ip);
    if (!v) throw new Error(`${raw}: not an IP address or CIDR`);
    const type = v === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(ip, type);
    else {
      const n = Number(bits);
      if (!Number.isInteger(n) || n < 0 || n > (v === 4 ? 32 : 128)) throw new Error(`${raw}: bad prefix length`);
      list.addSubnet(ip, n, type);
    }
  }
  return list;
}

export function addressAllowed(ip: string, allow: BlockList): boolean {
  const v = isIP(ip);
  if (!v) return false;
  const type = v === 4 ? 'ipv4' : 'ipv6';
  return !NOT_PUBLIC.check(ip, type) || allow.check(ip, type);
}

export class AddressRefused extends Error {
  readonly code = 'webhook_address_refused';
  constructor(host: string, ip: string) {
    super(`${host} is ${ip}, not a public address (allow it with WEBHOOK_ALLOW_NETS)`);
  }
}

/** URL hosts as node:net wants them: [::1] → ::1. */
export const hostOf = (u: URL) => u.hostname.replace(/^\[(.*)\]$/, '$1');

const RESOLVE_TIMEOUT_MS = 2_000;

type LookupAll = (host: string) => Promise<LookupAddress[]>;
const lookupAll: LookupAll = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))));

/**
 * At configuration: the reason the URL's host is refused, or undefined. A name that
 * does not resolve now is accepted (the check at connection time still applies).
 */
export async function refusedDestination(url: string, allow: BlockList, resolve: LookupAll = lookupAll): Promise<string | undefined> {
  const host = hostOf(new URL(url));
  if (isIP(host)) return addressAllowed(host, allow) ? undefined : new AddressRefused(host, host).message;
  let addrs: LookupAddress[];
  let timer: NodeJS.Timeout | undefined;
  try {
    // A slow resolver must not hold the request: unresolved is accepted, and checked at connection.
    addrs = await Promise.race([resolve(host), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('dns timeout')), RESOLVE_TIMEOUT_MS)))]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
  const bad = addrs.find((a) => !addressAllowed(a.address, allow));
  return bad ? new AddressRefused(host, bad.address).message : undefined;
}

/**
 * A `lookup` for http.request: resolves as usual and fails the connection if any address is
 * refused (checking all of them, since the socket may try each in turn).
 */
export function guardedLookup(allow: BlockList): NonNullable<import('node:net').TcpNetConnectOpts['lookup']> {
  return ((host: string, opts: { all?: boolean }, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(host, { all: true }, (err, addrs) => {
      if (err) return cb(err, '', 4);
      const bad = addrs.find((a) => !addressAllowed(a.address, allow));
      if (bad) return cb(new AddressRefused(host, bad.address), '', 4);
      if (opts?.all) return cb(null, addrs);
      cb(null, addrs[0]!.address, addrs[0]!.family);
    });
  }) as never;
}
