import { isIPv4 } from 'node:net';

/** True for an IPv4 CIDR in canonical form, such as `10.42.0.0/16` (host bits must be zero). */
export function isIpv4Cidr(value: string): boolean {
  const [address, prefixText, ...rest] = value.split('/');
  if (rest.length > 0 || prefixText === undefined || !/^[0-9]{1,2}$/.test(prefixText)) return false;
  const prefix = Number(prefixText);
  if (prefix > 32 || !isIPv4(address)) return false;
  const numeric = ipv4ToNumber(address);
  const hostBits = 32 - prefix;
  return hostBits === 32 ? numeric === 0 : numeric % 2 ** hostBits === 0;
}

/** An IPv4 address as a 32-bit number. */
export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** A 32-bit number as a dotted IPv4 address. */
export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** First and last address of a CIDR, as numbers. */
export function cidrRange(cidr: string): [number, number] {
  const [address, prefix] = cidr.split('/');
  const start = ipv4ToNumber(address);
  return [start, start + 2 ** (32 - Number(prefix)) - 1];
}

/** True when every address of `inner` lies in `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const [a, b] = cidrRange(inner);
  const [c, d] = cidrRange(outer);
  return a >= c && b <= d;
}

/** RFC 1918, loopback, link-local and CGNAT ranges: "not the internet" for egress rules. */
export const NON_PUBLIC_IPV4 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16'];
