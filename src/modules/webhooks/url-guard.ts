/**
 * Webhook URLs must be http(s) and, unless the operator allows it, must not reach loopback,
 * private, link-local or other internal addresses (checked when a subscription is saved, and at
 * every delivery on the address actually connected to: see http-post.ts).
 */
import net from 'node:net';

const V4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

const v4 = (ip: string) => ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
const v4Internal = (n: number) => V4_BLOCKED.some(([base, bits]) => n >>> (32 - bits) === v4(base) >>> (32 - bits));

/** The eight 16-bit words of a valid IPv6 address (a trailing dotted quad and a zone are allowed). */
function v6Words(ip: string): number[] {
  let a = ip.toLowerCase().replace(/%.*$/, '');
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (quad) {
    const n = v4(quad[2]!);
    a = `${quad[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const words = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return words.map((w) => parseInt(w, 16));
}

export function isInternalAddress(ip: string): boolean {
  if (net.isIPv4(ip)) return v4Internal(v4(ip));
  if (!net.isIPv6(ip.replace(/%.*$/, ''))) return true; // not an address we understand: refuse
  const w = v6Words(ip);
  const embedded = ((w[6]! << 16) | w[7]!) >>> 0;
  const zeros = (n: number) => w.slice(0, n).every((x) => x === 0);
  // IPv4 inside IPv6, however it is written (::ffff:127.0.0.1 is also ::ffff:7f00:1): judge the IPv4.
  if (zeros(5) && w[5] === 0xffff) return v4Internal(embedded); // IPv4-mapped
  if (zeros(6)) return w[6] === 0 && w[7]! <= 1 ? true : v4Internal(embedded); // ::, ::1, IPv4-compatible
  if (w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0)) return v4Internal(embedded); // NAT64
  if (w[0] === 0x2002) return v4Internal(((w[1]! << 16) | w[2]!) >>> 0); // 6to4
  return (w[0]! & 0xfe00) === 0xfc00 || (w[0]! & 0xffc0) === 0xfe80 || (w[0]! & 0xffc0) === 0xfec0 || (w[0]! & 0xff00) === 0xff00;
}

/** A reason the URL is refused, or undefined when it is acceptable as written. */
export function urlProblem(raw: string, allowInternal: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'webhook_url is not a URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'webhook_url must be http(s)';
  if (u.username || u.password) return 'webhook_url must not carry credentials';
  if (allowInternal) return undefined;
  // A trailing dot is the same name, fully qualified ("localhost." is localhost).
  const host = u.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal')) return 'webhook_url must not point at this machine or an internal host';
  if (net.isIP(host) && isInternalAddress(host)) return 'webhook_url must not point at a loopback or private address';
  return undefined;
}
