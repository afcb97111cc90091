/**
 * The NetworkPolicies of dist/ judged by np-guard's netpol-analyzer: every connection it
 * finds allowed must be in docs/expected-connectivity.yaml (the flow table of the
 * architecture, written out per workload), and every expected one must be allowed.
 */
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { NON_PUBLIC_IPV4 } from '../../lib/config/cidr';
import { kubernetesServiceIp } from '../../lib/constructs';
import { overrides } from '../../stack.config';
import { Connection, analysisDir, analyze, compare, expectedConnections, key, nameRanges } from './support/connectivity';
import { ROOT } from './support/tools';

const DIST = path.join(ROOT, 'dist');
const { network } = resolveConfig(overrides);
const RANGE_NAMES = { [kubernetesServiceIp(network.serviceCidr)]: '{kubernetes-api-service}', [network.nodeCidr ?? network.lanCidr]: '{nodes}' };

function allowed(dir: string): Connection[] {
  return nameRanges(analyze(dir), RANGE_NAMES, NON_PUBLIC_IPV4);
}

const actual = allowed(analysisDir(DIST));

test('the policies in dist/ allow exactly the expected connections', () => {
  console.log(`netpol-analyzer: ${actual.length} allowed connections involving the stack`);
  expect(compare(actual, expectedConnections())).toEqual({ unexpected: [], missing: [] });
});

test('the VPN pod reaches only the internet over WireGuard, and is reached only by the ingress controller and Uptime Kuma', () => {
  const vpn = actual.filter((c) => c.src.startsWith('vpn/vpn[') || c.dst.startsWith('vpn/vpn['));
  expect(vpn.map(key).sort()).toEqual([
    'kube-system/traefik[Deployment] => vpn/vpn[Deployment] : TCP 5030,8080',
    'management/uptime-kuma[Deployment] => vpn/vpn[Deployment] : TCP 5030,8080',
    'vpn/vpn[Deployment] => {internet} : UDP 51820',
  ]);
});

test('only the apps that own a database reach the data zone', () => {
  expect(actual.filter((c) => c.dst.startsWith('data/')).map(key).sort()).toEqual([
    'apps/gitea[Deployment] => data/gitea-postgres[Deployment] : TCP 5432',
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
    const { unexpected } = compare(allowed(analysisDir(DIST, { 'zz-leak.yaml': leak })), expectedConnections());
    expect(unexpected).toEqual(expect.arrayContaining(['vpn/vpn[Deployment] => data/mariadb[Deployment] : All Connections']));
  });

  test("a missing policy shows up as an expected connection that is not allowed", () => {
    const withoutMariadbIngress = (o: any) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'data' && o.metadata.name === 'mariadb-from-nextcloud';
    const { missing } = compare(allowed(analysisDir(DIST, {}, withoutMariadbIngress)), expectedConnections());
    expect(missing).toEqual(['apps/nextcloud-cron[CronJob] => data/mariadb[Deployment] : TCP 3306', 'apps/nextcloud[Deployment] => data/mariadb[Deployment] : TCP 3306']);
  });
});
