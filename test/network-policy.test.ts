import { App } from 'cdk8s';
import { resolveConfig } from '../lib/config';
import { AppPolicy, PotatoChart, ingressControllerPeer } from '../lib/constructs';

function render(build: (c: PotatoChart) => void) {
  const c = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', resolveConfig());
  build(c);
  return c.toJson();
}

test('an allow-list names only the directions it opens, with exact peers and ports', () => {
  const [policy] = render((c) =>
    new AppPolicy(c, 'p', {
      name: 'mariadb-from-nextcloud',
      namespace: 'data',
      app: 'mariadb',
      ingress: [{ peers: [{ app: 'nextcloud', namespace: 'apps' }], ports: [{ port: 3306 }] }],
    }),
  );
  expect(policy.spec).toEqual({
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'mariadb' } },
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nextcloud' } } }],
        ports: [{ port: 3306, protocol: 'TCP' }],
      },
    ],
  });
});

test('CIDR peers keep their holes', () => {
  const [policy] = render((c) =>
    new AppPolicy(c, 'p', { name: 'out', namespace: 'vpn', app: 'vpn', egress: [{ peers: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }], ports: [{ port: 51820, protocol: 'UDP' }] }] }),
  );
  expect(policy.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }], ports: [{ port: 51820, protocol: 'UDP' }] }]);
});

test('a policy that opens nothing is refused', () => {
  expect(() => render((c) => new AppPolicy(c, 'p', { name: 'nothing', namespace: 'apps', app: 'x' }))).toThrow('NetworkPolicy apps/nothing opens no direction');
});

test('the ingress controller peer follows the ingress mode', () => {
  expect(ingressControllerPeer(resolveConfig())).toEqual({ podLabels: { 'app.kubernetes.io/name': 'traefik' }, namespace: 'kube-system' });
  expect(ingressControllerPeer(resolveConfig({ ingress: { mode: 'nginx-proxy-manager' } }))).toEqual({ app: 'nginx-proxy-manager', namespace: 'dmz' });
});
