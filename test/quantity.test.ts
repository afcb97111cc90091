import { cidrRange, cidrWithin, isIpv4Cidr, numberToIpv4 } from '../lib/config/cidr';
import { cpuMillis, memoryBytes } from '../lib/config/quantity';

test.each([
  ['128Mi', 128 * 1024 ** 2],
  ['1Gi', 1024 ** 3],
  ['500M', 500e6],
  ['64Ki', 65536],
  ['1.5Gi', 1.5 * 1024 ** 3],
  ['1024', 1024],
])('memory %s', (q, bytes) => expect(memoryBytes(q)).toBe(bytes));

test.each(['512MB', '1g', '-1Mi', 'Mi', '', '1 Gi'])('malformed memory %p', (q) => expect(memoryBytes(q)).toBeUndefined());

test.each([
  ['250m', 250],
  ['1', 1000],
  ['0.5', 500],
])('cpu %s', (q, millis) => expect(cpuMillis(q)).toBe(millis));

test.each(['1 core', '100u', 'm'])('malformed cpu %p', (q) => expect(cpuMillis(q)).toBeUndefined());

test.each(['10.42.0.0/16', '0.0.0.0/0', '192.168.178.0/24', '10.0.0.1/32'])('CIDR %s', (c) => expect(isIpv4Cidr(c)).toBe(true));
test.each(['10.42.0.1/16', '10.42.0.0', '10.42.0.0/33', '300.1.1.0/24', '10.42.0.0/16/1', 'fd00::/8'])('not a CIDR %s', (c) => expect(isIpv4Cidr(c)).toBe(false));

test('CIDR ranges and containment', () => {
  expect(cidrRange('10.43.0.0/16').map(numberToIpv4)).toEqual(['10.43.0.0', '10.43.255.255']);
  expect(cidrWithin('10.43.0.0/16', '10.0.0.0/8')).toBe(true);
  expect(cidrWithin('10.0.0.0/8', '10.43.0.0/16')).toBe(false);
  expect(cidrWithin('100.64.0.0/10', '10.0.0.0/8')).toBe(false);
});
