import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { parse } from 'yaml';
import { GITEA_SSH_PORT, NPM_ADMIN_SECRET, NPM_CLAIM, npmEgressRules, webBackends, webUiBackends } from '../lib/apps/nginx-proxy-manager';
import { HSTS_SECONDS, PUBLISHED_SSH_PORT, RATE_LIMIT, TRAEFIK_METRICS_PORT, mergeValues, traefikValues } from '../lib/apps/traefik';
import { computeBudget } from '../lib/budget';
import { DEFAULT_TRAEFIK_CHART, TRAEFIK_CHART_ANNOTATION, WEB_UIS, resolveConfig } from '../lib/config';
import { NON_PUBLIC_IPV4 } from '../lib/config/cidr';
import { memoryBytes } from '../lib/config/quantity';
import { AppService, PotatoChart, TLS_OPTION, WEB_MIDDLEWARES } from '../lib/constructs';
import { Manifest, find, podSpecOf, synthCharts, synthObjects } from './helpers';

const TRAEFIK_KINDS = ['Middleware', 'TLSOption', 'HelmChartConfig', 'IngressRouteTCP', 'IngressRoute', 'TLSStore'];

/** A config that differs from every default the proxy reads, so the tests see config flow through. */
const custom = {
  network: { lanCidr: '192.168.1.0/24', wireguardClientCidr: '10.99.0.0/24' },
  ingress: { tlsSecretName: 'my-wildcard' },
  components: { traefik: { containers: { traefik: { requests: { cpu: '30m', memory: '40Mi' }, limits: { cpu: '700m', memory: '100Mi' } } } } },
};

function valuesOf(objects: Manifest[]): any {
  return parse(find(objects, 'HelmChartConfig', 'traefik', 'kube-system').spec.valuesContent);
}

describe('traefik mode', () => {
  const objects = synthCharts(custom)['30-proxy'];

  test('renders exactly the middlewares the Ingresses refer to, in kube-system', () => {
    const names = objects.filter((o) => o.kind === 'Middleware').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(names.sort()).toEqual([...WEB_MIDDLEWARES, 'security-headers-sameorigin'].map((n) => `kube-system/${n}`).sort());
    const referenced = new Set(
      synthObjects(custom)
        .filter((o) => o.kind === 'Ingress')
        .flatMap((o) => o.metadata.annotations!['traefik.ingress.kubernetes.io/router.middlewares'].split(','))
        .map((ref) => ref.replace(/^kube-system-/, '').replace(/@kubernetescrd$/, '')),
    );
    expect([...referenced].sort()).toEqual(names.map((n) => n.replace('kube-system/', '')).sort());
  });

  test('Nextcloud alone gets X-Frame-Options SAMEORIGIN; every other header is the same', () => {
    const strict = find(objects, 'Middleware', 'security-headers', 'kube-system').spec.headers;
    const sameOrigin = find(objects, 'Middleware', 'security-headers-sameorigin', 'kube-system').spec.headers;
    const { frameDeny, ...rest } = strict;
    expect(frameDeny).toBe(true);
    expect(sameOrigin).toEqual({ ...rest, customFrameOptionsValue: 'SAMEORIGIN' });
    const uses = synthObjects(custom)
      .filter((o) => o.kind === 'Ingress' && o.metadata.annotations!['traefik.ingress.kubernetes.io/router.middlewares'].includes('sameorigin'))
      .map((o) => o.metadata.name);
    expect(uses).toEqual(['nextcloud']);
  });

  test('security-headers: HSTS one year with preload and subdomains, nosniff, frame deny', () => {
    const headers = find(objects, 'Middleware', 'security-headers', 'kube-system').spec.headers;
    expect(headers).toEqual({
      stsSeconds: 31_536_000,
      stsIncludeSubdomains: true,
      stsPreload: true,
      forceSTSHeader: true,
      contentTypeNosniff: true,
      frameDeny: true,
      referrerPolicy: 'strict-origin-when-cross-origin',
    });
    expect(HSTS_SECONDS).toBe(365 * 24 * 3600);
  });

  test('lan-only admits exactly the configured LAN and WireGuard client ranges, checked on the peer address', () => {
    const spec = find(objects, 'Middleware', 'lan-only', 'kube-system').spec;
    expect(spec).toEqual({ ipAllowList: { sourceRange: ['192.168.1.0/24', '10.99.0.0/24'] } });
    // No pod or service range: a rewritten client address must be refused, not admitted.
    expect(spec.ipAllowList.sourceRange).not.toContain(resolveConfig().network.podCidr);
  });

  test('rate-limit is per second with the documented average and burst', () => {
    expect(find(objects, 'Middleware', 'rate-limit', 'kube-system').spec).toEqual({
      rateLimit: { average: RATE_LIMIT.average, burst: RATE_LIMIT.burst, period: '1s' },
    });
    expect(RATE_LIMIT.burst).toBeGreaterThan(RATE_LIMIT.average);
  });

  test.each([TLS_OPTION, 'default'])('TLSOption %s: TLS 1.3 minimum, strict SNI', (name) => {
    expect(find(objects, 'TLSOption', name, 'kube-system').spec).toEqual({ minVersion: 'VersionTLS13', sniStrict: true });
  });

  test("HelmChartConfig targets k3s's traefik chart and takes resources and certificate from the config", () => {
    const values = valuesOf(objects);
    expect(values.resources).toEqual({ requests: { cpu: '30m', memory: '40Mi' }, limits: { cpu: '700m', memory: '100Mi' } });
    expect(values.tlsStore).toEqual({ default: { defaultCertificate: { secretName: 'my-wildcard' } } });
  });

  test('HelmChartConfig values use the keys of chart 41 (the default) for redirect, TLS, logs, providers and the service', () => {
    const values = valuesOf(objects);
    expect(values.ports.web.http.redirections.entryPoint).toEqual({ to: 'websecure', scheme: 'https', permanent: true });
    expect(values.ports.web.redirections).toBeUndefined();
    expect(JSON.stringify(values)).not.toContain('redirectTo');
    expect(values.ports.websecure.http.tls.enabled).toBe(true);
    expect(values.providers.kubernetesCRD.allowCrossNamespace).toBe(false);
    expect(values.service.spec.externalTrafficPolicy).toBe('Local');
    expect(values.log).toEqual({ format: 'json', level: 'INFO' });
    expect(values.logs).toBeUndefined();
    expect(values.accessLog).toMatchObject({ enabled: true, format: 'json' });
    expect(values.accessLog.fields.defaultMode).toBe('drop');
    expect(values.accessLog.fields.headers.defaultMode).toBe('drop');
    expect(values.accessLog.fields.names).toMatchObject({ ClientHost: 'keep', DownstreamStatus: 'keep', RequestHost: 'keep' });
  });

  test('the HelmChartConfig names the chart its values are for, and follows ingress.traefikChart', () => {
    const annotation = (o: Manifest[]) => find(o, 'HelmChartConfig', 'traefik', 'kube-system').metadata.annotations![TRAEFIK_CHART_ANNOTATION];
    expect(annotation(objects)).toBe(String(DEFAULT_TRAEFIK_CHART));
    const older = synthCharts({ ...custom, ingress: { ...custom.ingress, traefikChart: 38 } })['30-proxy'];
    expect(annotation(older)).toBe('38');
    expect(valuesOf(older).ports.web.redirections.entryPoint).toEqual({ to: 'websecure', scheme: 'https', permanent: true });
    expect(valuesOf(older).logs.access.fields.general.defaultmode).toBe('drop');
  });

  test('metrics: own unexposed entrypoint, and the scrape annotations point at it', () => {
    const values = valuesOf(objects);
    expect(values.metrics.prometheus.entryPoint).toBe('metrics');
    expect(values.ports.metrics).toMatchObject({ port: TRAEFIK_METRICS_PORT, expose: { default: false } });
    expect(values.deployment.podAnnotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(values.ports.metrics.port) });
  });

  test('the ssh entrypoint is published on the documented port, never the node sshd port', () => {
    const values = valuesOf(objects);
    expect(values.ports.ssh).toMatchObject({ port: PUBLISHED_SSH_PORT, exposedPort: PUBLISHED_SSH_PORT, expose: { default: true }, protocol: 'TCP' });
    expect(PUBLISHED_SSH_PORT).not.toBe(22);
  });

  test('the budget counts Traefik at the size its values set', () => {
    const config = resolveConfig(custom);
    const budget = computeBudget(config, synthObjects(custom));
    const traefik = budget.pods.find((p) => p.workload === 'kube-system/traefik');
    const values = traefikValues(config) as any;
    expect(traefik?.memoryRequest).toBe(memoryBytes(values.resources.requests.memory));
    expect(traefik?.memoryLimit).toBe(memoryBytes(values.resources.limits.memory));
  });

  test("Gitea's SSH: a TCP route in apps on the ssh entrypoint to the gitea Service", () => {
    const route = find(objects, 'IngressRouteTCP', 'gitea-ssh', 'apps');
    expect(route.spec).toEqual({ entryPoints: ['ssh'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'gitea', port: GITEA_SSH_PORT }] }] });
    expect(Object.keys(valuesOf(objects).ports)).toContain(route.spec.entryPoints[0]);
  });

  test('the TCP route names a port the gitea Service has (once Gitea is synthesized)', () => {
    const service = synthObjects().find((o) => o.kind === 'Service' && o.metadata.name === 'gitea' && o.metadata.namespace === 'apps');
    if (service) expect(service.spec.ports.map((p: any) => p.port)).toContain(GITEA_SSH_PORT);
  });

  test('no TCP route without Gitea', () => {
    const without = synthCharts({ components: { gitea: { enabled: false } } })['30-proxy'];
    expect(without.filter((o) => o.kind === 'IngressRouteTCP')).toEqual([]);
  });

  test('renders no nginx-proxy-manager object anywhere in the stack', () => {
    const all = synthObjects();
    expect(all.filter((o) => o.metadata.namespace === 'dmz' || o.metadata.name.startsWith('nginx-proxy-manager'))).toEqual([]);
  });
});

describe('helm-values/traefik.yaml', () => {
  const file = parse(fs.readFileSync(path.join(__dirname, '..', 'helm-values', 'traefik.yaml'), 'utf8'));

  test('leaves the config-driven keys to the code', () => {
    expect(file.resources).toBeUndefined();
    expect(file.tlsStore).toBeUndefined();
  });

  test('mergeValues merges maps key by key and replaces scalars and lists', () => {
    const merged = mergeValues({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { c: [3], e: true }, d: 'y' });
    expect(merged).toEqual({ a: { b: 1, c: [3], e: true }, d: 'y' });
  });

  test('the merged values keep every key of the file that the config does not decide', () => {
    const values = traefikValues(resolveConfig(), file) as any;
    expect(values.log).toEqual(file.log);
    expect(values.accessLog).toEqual(file.accessLog);
    expect(values.global).toEqual(file.global);
    expect(values.providers).toEqual(file.providers);
    expect(values.ports.web).toEqual(file.ports.web);
  });
});

describe('nginx-proxy-manager mode', () => {
  const overrides = { ingress: { mode: 'nginx-proxy-manager' as const }, network: custom.network };
  const all = synthObjects(overrides);
  const objects = synthCharts(overrides)['30-proxy'];

  test('renders no Traefik object anywhere in the stack (no Ingress either)', () => {
    expect(all.filter((o) => TRAEFIK_KINDS.includes(o.kind) || o.kind === 'Ingress').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  test('NPM runs in dmz with its data on the claim, at /data and /etc/letsencrypt', () => {
    const deployment = find(objects, 'Deployment', 'nginx-proxy-manager', 'dmz');
    const spec = podSpecOf(deployment);
    expect(spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: NPM_CLAIM } }]);
    expect(spec.containers[0].volumeMounts).toEqual([
      { name: 'data', mountPath: '/data', subPath: 'data' },
      { name: 'data', mountPath: '/etc/letsencrypt', subPath: 'letsencrypt' },
    ]);
    expect(spec.containers[0].ports.map((p: any) => p.containerPort).sort((a: number, b: number) => a - b)).toEqual([80, 81, 443, PUBLISHED_SSH_PORT]);
    // The platform chart creates the claim only while NPM is enabled.
    expect(all.some((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === NPM_CLAIM && o.metadata.namespace === 'dmz')).toBe(true);
  });

  test('the first admin login comes from a required Secret, never a default password', () => {
    const env = podSpecOf(find(objects, 'Deployment', 'nginx-proxy-manager', 'dmz')).containers[0].env;
    for (const [name, key] of [['INITIAL_ADMIN_EMAIL', 'email'], ['INITIAL_ADMIN_PASSWORD', 'password']]) {
      expect(env.find((e: any) => e.name === name)).toEqual({ name, valueFrom: { secretKeyRef: { name: NPM_ADMIN_SECRET, key, optional: false } } });
    }
  });

  test('the Service publishes 80/443/81/2222 on the node, keeps client addresses, admits LAN and WireGuard only', () => {
    const service = find(objects, 'Service', 'nginx-proxy-manager', 'dmz');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.externalTrafficPolicy).toBe('Local');
    expect(service.spec.loadBalancerSourceRanges).toEqual(['192.168.1.0/24', '10.99.0.0/24']);
    expect(service.spec.ports.map((p: any) => p.port)).toEqual([80, 443, 81, PUBLISHED_SSH_PORT]);
  });

  test('ingress policy: only LAN and WireGuard clients, only the published ports', () => {
    const policy = find(objects, 'NetworkPolicy', 'nginx-proxy-manager-ingress', 'dmz');
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toEqual([
      {
        from: [{ ipBlock: { cidr: '192.168.1.0/24' } }, { ipBlock: { cidr: '10.99.0.0/24' } }],
        ports: [80, 443, 81, PUBLISHED_SSH_PORT].map((port) => ({ port, protocol: 'TCP' })),
      },
    ]);
  });

  test('egress policy: each enabled web UI on its port, Gitea SSH, and HTTPS to the public internet only', () => {
    const egress = find(objects, 'NetworkPolicy', 'nginx-proxy-manager-egress', 'dmz').spec.egress;
    const config = resolveConfig(overrides);
    for (const b of webBackends(config)) {
      const rule = egress.find((r: any) => r.to[0].podSelector?.matchLabels['app.kubernetes.io/name'] === b.app && r.to[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'] === b.namespace);
      expect([b.title, rule?.ports.map((p: any) => p.port)]).toEqual([b.title, expect.arrayContaining([b.port])]);
    }
    const internet = egress.find((r: any) => r.to[0].ipBlock);
    expect(internet).toEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 } }], ports: [{ port: 443, protocol: 'TCP' }] });
    const gitea = egress.find((r: any) => r.to[0].podSelector?.matchLabels['app.kubernetes.io/name'] === 'gitea');
    expect(gitea.ports.map((p: any) => p.port)).toContain(GITEA_SSH_PORT);
  });

  test('egress follows the enabled components', () => {
    const config = resolveConfig({ ...overrides, components: { portainer: { enabled: false }, gitea: { enabled: false } } });
    const apps = npmEgressRules(config).flatMap((r) => r.peers.map((p) => ('app' in p ? p.app : undefined)));
    expect(apps).not.toContain('portainer');
    expect(apps).not.toContain('gitea');
    expect(apps).toContain('nextcloud');
  });
});

describe('web UI backends', () => {
  test('every web UI except NPM itself has a backend port', () => {
    for (const ui of WEB_UIS.filter((u) => u.component !== 'nginx-proxy-manager')) {
      expect([ui.title, webUiBackends()[ui.title]?.port]).toEqual([ui.title, expect.any(Number)]);
    }
  });

  test('backend ports match the containers of the synthesized apps', () => {
    const config = resolveConfig();
    const workloads = synthObjects().filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
    for (const b of webBackends(config)) {
      const workload = workloads.find((w) => w.metadata.namespace === b.namespace && w.spec.template.metadata.labels['app.kubernetes.io/name'] === b.app);
      if (!workload) continue; // that app's chart is not built yet
      const ports = [...(podSpecOf(workload).initContainers ?? []), ...podSpecOf(workload).containers].flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort));
      expect([b.title, ports]).toEqual([b.title, expect.arrayContaining([b.port])]);
    }
  });
  test("every Traefik Ingress's backend resolves to the pod port NPM's egress allows for that host", () => {
    const config = resolveConfig({ components: { netdata: { enabled: true } } });
    const all = synthObjects({ components: { netdata: { enabled: true } } });
    const backends = webBackends(config);
    for (const ingress of all.filter((o) => o.kind === 'Ingress')) {
      const host: string = ingress.spec.rules[0].host;
      const ui = WEB_UIS.find((u) => `${u.subdomain}.${config.domain}` === host);
      const backend = backends.find((b) => b.title === ui?.title);
      const ref = ingress.spec.rules[0].http.paths[0].backend.service;
      const service = find(all, 'Service', ref.name, ingress.metadata.namespace);
      const servicePort = service.spec.ports.find((p: any) => (ref.port.name ? p.name === ref.port.name : p.port === ref.port.number));
      const pods = all.filter(
        (o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind) && o.metadata.namespace === service.metadata.namespace &&
          Object.entries(service.spec.selector).every(([k, v]) => o.spec.template.metadata.labels[k] === v),
      );
      const containerPorts = pods.flatMap((w) => [...(podSpecOf(w).initContainers ?? []), ...podSpecOf(w).containers]).flatMap((c: any) => c.ports ?? []);
      const target = servicePort.targetPort;
      const podPort = typeof target === 'number' ? target : containerPorts.find((p: any) => p.name === target)?.containerPort;
      expect([host, backend?.namespace, backend?.app, backend?.port]).toEqual([host, service.metadata.namespace, pods[0]?.spec.template.metadata.labels['app.kubernetes.io/name'], podPort]);
    }
  });
});

describe('AppService LoadBalancer props', () => {
  test('refuses LoadBalancer-only settings on a ClusterIP Service', () => {
    const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'x', resolveConfig());
    expect(() => new AppService(chart, 's', { name: 's', namespace: 'apps', role: 'r', ports: [{ name: 'http', port: 80 }], externalTrafficPolicy: 'Local' })).toThrow(
      /need type LoadBalancer/,
    );
  });
});

describe('docs/ingress.md', () => {
  const section = fs.readFileSync(path.join(__dirname, '..', 'docs', 'ingress.md'), 'utf8');

  test('lists every web UI host and says how to provide the certificate and disable Traefik', () => {
    const { domain, ingress } = resolveConfig();
    for (const ui of WEB_UIS) expect([ui.title, section.includes(`\`${ui.subdomain}.${domain}\``)]).toEqual([ui.title, true]);
    expect(section).toContain(`kubectl -n kube-system create secret tls ${ingress.tlsSecretName}`);
    expect(section).toContain('--disable=traefik');
    expect(section).toContain(`Secret \`${NPM_ADMIN_SECRET}\``);
    expect(section).toContain(String(PUBLISHED_SSH_PORT));
  });
});
