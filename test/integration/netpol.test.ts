/**
 * The NetworkPolicies judged by np-guard's netpol-analyzer. With every component on (the full
 * profile), the connections it finds allowed must be exactly docs/expected-connectivity.yaml
 * (the flow table of the architecture, written out per workload); the committed dist/ (the
 * default profile) must allow exactly the expected connections among the workloads it deploys.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { NON_PUBLIC_IPV4 } from '../../lib/config/cidr';
import { kubernetesServiceIp } from '../../lib/constructs';
import { buildApp } from '../../lib/stack';
import { overrides } from '../../stack.config';
import { Connection, analysisDir, analyze, compare, expectedConnections, key, nameRanges } from './support/connectivity';
import { ROOT } from './support/tools';

const DIST = path.join(ROOT, 'dist');
const { network } = resolveConfig(overrides);
const RANGE_NAMES = { [kubernetesServiceIp(network.serviceCidr)]: '{kubernetes-api-service}', [network.nodeCidr ?? network.lanCidr]: '{nodes}' };

function allowed(dir: string): Connection[] {
  return nameRanges(analyze(dir), RANGE_NAMES, NON_PUBLIC_IPV4);
}

/** The full profile's manifests, synthesized without the budget check (it is for a bigger board). */
function fullProfileDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-full-'));
  buildApp(resolveConfig({ ...overrides, profile: 'full' }), dir).synth();
  return dir;
}

const FULL = fullProfileDir();
const actual = allowed(analysisDir(FULL));

test('with every component on, the policies allow exactly the expected connections', () => {
  console.log(`netpol-analyzer: ${actual.length} allowed connections involving the stack (full profile)`);
  expect(compare(actual, expectedConnections())).toEqual({ unexpected: [], missing: [] });
});

/** Ports of a connection as the analyzer writes them ("TCP 5030,8080"), one entry per protocol/port. */
function ports(conn: string): string[] {
  if (conn === 'All Connections') return ['*'];
  return conn.split(';').flatMap((part) => {
    const [protocol, list] = part.trim().split(' ');
    return list.split(',').map((port) => `${protocol} ${port}`);
  });
}

test('dist/ allows only expected connections, and every expected one between the workloads it deploys', () => {
  const inDist = allowed(analysisDir(DIST));
  const present = new Set(inDist.flatMap((c) => [c.src, c.dst]));
  console.log(`netpol-analyzer: ${inDist.length} allowed connections involving the stack (dist/, profile ${resolveConfig(overrides).profile})`);
  expect(inDist.length).toBeGreaterThan(5);
  const expected = expectedConnections();
  const pair = (c: Connection) => `${c.src} => ${c.dst}`;
  // A connection may carry fewer ports than the full stack's (a switched-off app's port), never more.
  const unexpected = inDist.filter((c) => {
    const allowedPorts = new Set(expected.filter((e) => pair(e) === pair(c)).flatMap((e) => ports(e.conn)));
    return !ports(c.conn).every((p) => allowedPorts.has(p));
  });
  const deployed = (endpoint: string) => endpoint.startsWith('{') || present.has(endpoint);
  const missing = expected.filter((e) => deployed(e.src) && deployed(e.dst) && !inDist.some((c) => pair(c) === pair(e)));
  expect({ unexpected: unexpected.map(key), missing: missing.map(key) }).toEqual({ unexpected: [], missing: [] });
});

test('the VPN pod reaches only the internet over WireGuard, and is reached only by the ingress controller and Uptime Kuma', () => {
  const vpn = actual.filter((c) => c.src.startsWith('vpn/vpn[') || c.dst.startsWith('vpn/vpn['));
  expect(vpn.map(key).sort()).toEqual([
    'kube-system/traefik[Deployment] => vpn/vpn[Deployment] : TCP 5030,8080',
    'management/uptime-kuma[Deployment] => vpn/vpn[Deployment] : TCP 5030,8080',
    'vpn/vpn[Deployment] => {internet} : UDP 51820',
  ]);
});

test('only the apps that own a database, and the backup that dumps it, reach the data zone', () => {
  expect(actual.filter((c) => c.dst.startsWith('data/')).map(key).sort()).toEqual([
    'apps/gitea[Deployment] => data/gitea-postgres[Deployment] : TCP 5432',
    'apps/kopia-snapshot[CronJob] => data/gitea-postgres[Deployment] : TCP 5432',
    'apps/kopia-snapshot[CronJob] => data/mariadb[Deployment] : TCP 3306',
    'apps/nextcloud-cron[CronJob] => data/mariadb[Deployment] : TCP 3306',
    'apps/nextcloud[Deployment] => data/mariadb[Deployment] : TCP 3306',
  ]);
});

describe('the analyzer bites', () => {
  test('a policy that opens data to the VPN pod is reported as unexpected', () => {
    const leak = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: leak-to-vpn, namespace: data}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: vpn}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: leak-from-vpn, namespace: vpn}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: data}}}]}]
`;
    const { unexpected } = compare(allowed(analysisDir(FULL, { 'zz-leak.yaml': leak })), expectedConnections());
    expect(unexpected).toEqual(expect.arrayContaining(['vpn/vpn[Deployment] => data/mariadb[Deployment] : All Connections']));
  });

  test("a missing policy shows up as an expected connection that is not allowed", () => {
    const withoutMariadbIngress = (o: any) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'data' && o.metadata.name === 'mariadb-from-nextcloud';
    const { missing } = compare(allowed(analysisDir(FULL, {}, withoutMariadbIngress)), expectedConnections());
    expect(missing).toEqual([
      'apps/kopia-snapshot[CronJob] => data/mariadb[Deployment] : TCP 3306',
      'apps/nextcloud-cron[CronJob] => data/mariadb[Deployment] : TCP 3306',
      'apps/nextcloud[Deployment] => data/mariadb[Deployment] : TCP 3306',
    ]);
  });
});
