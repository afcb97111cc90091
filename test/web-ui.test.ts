import { App } from 'cdk8s';
import { PotatoStackOverrides, resolveConfig } from '../lib/config';
import { PotatoChart, ProxiedWebUi, ProxiedWebUiProps, hostFor, ingressControllerPeer } from '../lib/constructs';

function render(props: ProxiedWebUiProps, overrides: PotatoStackOverrides = {}) {
  const config = resolveConfig(overrides);
  const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', config);
  const ui = new ProxiedWebUi(chart, 'ui', props);
  return { config, ui, objects: chart.toJson() };
}

const base: ProxiedWebUiProps = { name: 'demo', namespace: 'apps', role: 'server', subdomain: 'demo', port: 3000 };

describe('ProxiedWebUi', () => {
  test('a Service on the UI port and an Ingress to it, in that order', () => {
    const { config, ui, objects } = render(base);
    expect(objects.map((o) => o.kind)).toEqual(['Service', 'Ingress']);
    const [service, ingress] = objects;
    expect(service.metadata).toMatchObject({ name: 'demo', namespace: 'apps', labels: { 'app.kubernetes.io/component': 'server' } });
    expect(service.metadata.annotations).toBeUndefined();
    expect(service.spec.selector).toMatchObject({ 'app.kubernetes.io/name': 'demo' });
    expect(service.spec.ports).toEqual([{ name: 'http', port: 3000, protocol: 'TCP', targetPort: 'http' }]);
    expect(ingress.metadata).toMatchObject({ name: 'demo', namespace: 'apps' });
    expect(ingress.spec.rules[0].host).toBe(hostFor(config, 'demo'));
    expect(ui.host).toBe(hostFor(config, 'demo'));
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'demo', port: { name: 'http' } });
  });

  test('the ingress rule lets the proxy in on the container port only', () => {
    const { config, ui } = render({ ...base, extraPorts: [{ name: 'ssh', port: 2222 }] });
    expect(ui.ingressRule).toEqual({ peers: [ingressControllerPeer(config)], ports: [{ port: 3000 }] });
  });

  test('extra ports go on the Service after the UI port; the Ingress routes the named UI port', () => {
    const { objects } = render({ ...base, portName: 'web', extraPorts: [{ name: 'ssh', port: 2222 }] });
    const [service, ingress] = objects;
    expect(service.spec.ports.map((p: { name: string; port: number }) => [p.name, p.port])).toEqual([
      ['web', 3000],
      ['ssh', 2222],
    ]);
    expect(ingress.spec.rules[0].http.paths[0].backend.service.port).toEqual({ name: 'web' });
  });

  test('an HTTPS backend gets a ServersTransport (between Service and Ingress) that checks its certificate', () => {
    const { objects } = render({ ...base, portName: 'https', httpsBackend: { serverName: 'demo.apps.svc', caSecret: 'demo-tls' } });
    expect(objects.map((o) => o.kind)).toEqual(['Service', 'ServersTransport', 'Ingress']);
    const [service, transport] = objects;
    expect(service.metadata.annotations).toEqual({
      'traefik.ingress.kubernetes.io/service.serversscheme': 'https',
      'traefik.ingress.kubernetes.io/service.serverstransport': 'apps-demo@kubernetescrd',
    });
    expect(transport.metadata).toMatchObject({ name: 'demo', namespace: 'apps' });
    expect(transport.spec).toEqual({ serverName: 'demo.apps.svc', rootCAs: [{ secret: 'demo-tls' }] });
  });

  test('with nginx-proxy-manager: only the Service, no Traefik objects, and NPM is the peer', () => {
    const overrides: PotatoStackOverrides = { ingress: { mode: 'nginx-proxy-manager' } };
    const { config, ui, objects } = render({ ...base, httpsBackend: { serverName: 'demo.apps.svc', caSecret: 'demo-tls' } }, overrides);
    expect(objects.map((o) => o.kind)).toEqual(['Service']);
    expect(objects[0].metadata.annotations).toBeUndefined();
    expect(ui.ingressRule.peers).toEqual([ingressControllerPeer(config)]);
    expect(ui.ingressRule.peers).toEqual([{ app: 'nginx-proxy-manager', namespace: 'dmz' }]);
  });
});
