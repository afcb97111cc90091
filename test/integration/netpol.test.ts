/**
 * The NetworkPolicies of dist/ judged by np-guard's netpol-analyzer: every connection it
 * finds allowed must be in docs/expected-connectivity.yaml (the flow table of the
 * architecture, written out per workload), and every expected one must be allowed.
 */
import * as path from 'node:path';
import { analysisDir, analyze, compare, expectedConnections, key } from './support/connectivity';
import { ROOT } from './support/tools';

const DIST = path.join(ROOT, 'dist');

test('the policies in dist/ allow exactly the expected connections', () => {
  const actual = analyze(analysisDir(DIST));
  console.log(`netpol-analyzer: ${actual.length} allowed connections involving the stack`);
  expect(compare(actual, expectedConnections())).toEqual({ unexpected: [], missing: [] });
});

test('the VPN pod reaches nothing but the internet on the VPN transport (and is reached only by the ingress controller)', () => {
  const vpn = analyze(analysisDir(DIST)).filter((c) => c.src.startsWith('vpn/vpn[') || c.dst.startsWith('vpn/vpn['));
  expect(vpn.length).toBeGreaterThan(0);
  for (const c of vpn) {
    if (c.src.startsWith('vpn/vpn[')) expect([key(c), c.dst.startsWith('0.0.0.0') || /^\d/.test(c.dst)]).toEqual([key(c), true]);
    else expect([key(c), ['{ingress-controller}', 'kube-system/traefik[Deployment]'].includes(c.src) || c.src.startsWith('monitoring/prometheus[')]).toEqual([key(c), true]);
  }
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
    const { unexpected } = compare(analyze(analysisDir(DIST, { 'zz-leak.yaml': leak })), expectedConnections());
    expect(unexpected.some((k) => k.startsWith('vpn/vpn[Deployment] => data/'))).toBe(true);
  });
});
