import { App } from 'cdk8s';
import { ConfigError, DEFAULT_CONFIG, volumeSpec } from '../lib/config';
import { NON_PUBLIC_IPV4 } from '../lib/config/cidr';
import { DIUN_SECRET_KEYS, Diun, DiunNotifiers, diunEnvironment, diunSecretKeys } from '../lib/apps/diun';
import { PotatoChart, SECURITY_EXCEPTION_ANNOTATION } from '../lib/constructs';
import { ManagementChart } from '../charts/management';
import { Manifest, find, podSpecOf, fullConfig, synthFull, synthChartsFull } from './helpers';

const NAMESPACE = 'management';
const management = (overrides = {}) => synthChartsFull(overrides)['60-management'];
const objects = management();

function container(objs: Manifest[], deployment: string): any {
  return podSpecOf(find(objs, 'Deployment', deployment, NAMESPACE)).containers[0];
}
function envOf(c: any): Record<string, any> {
  return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}
const traefikPeer = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
};
// The kubernetes Service address (the first of the service range) and the node range.
const apiEgress = (serviceIp: string, nodeCidr: string, port: number) => [
  { to: [{ ipBlock: { cidr: serviceIp } }], ports: [{ port: 443, protocol: 'TCP' }] },
  { to: [{ ipBlock: { cidr: nodeCidr } }], ports: [{ port, protocol: 'TCP' }] },
];
const internet = (port: number) => ({ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 } }], ports: [{ port, protocol: 'TCP' }] });
const defaultApi = apiEgress('10.43.0.1/32', DEFAULT_CONFIG.network.lanCidr, DEFAULT_CONFIG.network.apiServerPort);

describe('RBAC: each ClusterRole grants exactly what its app calls', () => {
  test('Dozzle reads pods, logs, nodes and metrics, nothing else', () => {
    expect(find(objects, 'ClusterRole', 'dozzle').rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
      { apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list'] },
    ]);
  });

  test('Diun reads pods only', () => {
    expect(find(objects, 'ClusterRole', 'diun').rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
  });

  test('exactly three bindings, each to its own ServiceAccount; only Portainer gets cluster-admin', () => {
    const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding');
    expect(bindings.map((b) => [b.metadata.name, b.roleRef.name, b.subjects]).sort()).toEqual([
      ['diun', 'diun', [{ kind: 'ServiceAccount', name: 'diun', namespace: NAMESPACE }]],
      ['dozzle', 'dozzle', [{ kind: 'ServiceAccount', name: 'dozzle', namespace: NAMESPACE }]],
      ['portainer', 'cluster-admin', [{ kind: 'ServiceAccount', name: 'portainer', namespace: NAMESPACE }]],
    ]);
    // Portainer binds the built-in role; the zone creates no role of its own with wildcards.
    const roles = objects.filter((o) => o.kind === 'ClusterRole');
    expect(roles.map((r) => r.metadata.name).sort()).toEqual(['diun', 'dozzle']);
    for (const rule of roles.flatMap((r) => r.rules)) {
      for (const field of ['apiGroups', 'resources', 'verbs']) expect(rule[field]).not.toContain('*');
    }
  });

  test('each pod mounts the token of its own ServiceAccount; Uptime Kuma gets none', () => {
    for (const name of ['portainer', 'dozzle', 'diun']) {
      const spec = podSpecOf(find(objects, 'Deployment', name, NAMESPACE));
      expect([name, spec.serviceAccountName, spec.automountServiceAccountToken]).toEqual([name, name, true]);
    }
    const kuma = podSpecOf(find(objects, 'Deployment', 'uptime-kuma', NAMESPACE));
    expect([kuma.serviceAccountName, kuma.automountServiceAccountToken]).toEqual([undefined, false]);
  });

  test('turning Portainer off removes it and the only cluster-admin binding of the stack', () => {
    const all = synthFull({ components: { portainer: { enabled: false } } });
    expect(all.filter((o) => o.metadata.name === 'portainer')).toEqual([]);
    expect(all.filter((o) => o.kind === 'ClusterRoleBinding' && o.roleRef.name === 'cluster-admin')).toEqual([]);
    expect(synthFull().filter((o) => o.kind === 'ClusterRoleBinding' && o.roleRef.name === 'cluster-admin').map((o) => o.metadata.name)).toEqual(['portainer']);
  });
});

describe('NetworkPolicies open exactly the management flows', () => {
  const policy = (objs: Manifest[], name: string, namespace = NAMESPACE) => find(objs, 'NetworkPolicy', name, namespace).spec;

  test('Portainer: UI from the proxy, egress to the API only', () => {
    expect(policy(objects, 'portainer-traffic')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'portainer' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [traefikPeer], ports: [{ port: 9000, protocol: 'TCP' }] }],
      egress: defaultApi,
    });
  });

  test('Dozzle: UI from the proxy, egress to the API only', () => {
    expect(policy(objects, 'dozzle-traffic')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'dozzle' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [traefikPeer], ports: [{ port: 8080, protocol: 'TCP' }] }],
      egress: defaultApi,
    });
  });

  test('Diun: no ingress at all; the API and the internet over HTTPS', () => {
    expect(policy(objects, 'diun-traffic')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'diun' } },
      policyTypes: ['Egress'],
      egress: [...defaultApi, internet(443)],
    });
  });

  test('Uptime Kuma: UI from the proxy; each watched web UI on exactly its port, and the internet over HTTPS', () => {
    const ns = (name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });
    const app = (namespace: string, name: string) => ({ ...ns(namespace), podSelector: { matchLabels: { 'app.kubernetes.io/name': name } } });
    const tcp = (...ports: number[]) => ports.map((port) => ({ port, protocol: 'TCP' }));
    expect(policy(objects, 'uptime-kuma-traffic')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'uptime-kuma' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [traefikPeer], ports: tcp(3001) }],
      egress: [
        { to: [app('apps', 'homepage')], ports: tcp(3000) },
        { to: [app('apps', 'nextcloud')], ports: tcp(80) },
        { to: [app('apps', 'kopia')], ports: tcp(51515) },
        { to: [app('apps', 'gitea')], ports: tcp(3000) },
        { to: [app('vpn', 'vpn')], ports: tcp(8080, 5030) },
        { to: [app('monitoring', 'grafana')], ports: tcp(3000) },
        { to: [app('monitoring', 'prometheus')], ports: tcp(9090) },
        { to: [app('monitoring', 'alertmanager')], ports: tcp(9093) },
        { to: [app('management', 'portainer')], ports: tcp(9000) },
        { to: [app('management', 'dozzle')], ports: tcp(8080) },
        internet(443),
      ],
    });
    // The receiving half, per app: only Uptime Kuma, only that app's web port.
    expect(policy(objects, 'vpn-from-uptime-kuma', 'vpn')).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'vpn' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [app('management', 'uptime-kuma')], ports: tcp(8080, 5030) }],
    });
  });

  test('nothing else: four app policies plus one receiving policy per watched app', () => {
    const names = objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    const watched = ['apps/homepage', 'apps/nextcloud', 'apps/kopia', 'apps/gitea', 'vpn/vpn', 'monitoring/grafana', 'monitoring/prometheus', 'monitoring/alertmanager', 'management/portainer', 'management/dozzle'];
    expect(names.sort()).toEqual(
      ['management/portainer-traffic', 'management/uptime-kuma-traffic', 'management/dozzle-traffic', 'management/diun-traffic', ...watched.map((w) => `${w}-from-uptime-kuma`)].sort(),
    );
  });

  test('API egress follows network.nodeCidr and apiServerPort; the UI peer follows the ingress mode', () => {
    const config = fullConfig({ network: { apiServerPort: 7443, nodeCidr: '192.168.178.10/32', serviceCidr: '10.96.0.0/12' }, ingress: { mode: 'nginx-proxy-manager' } });
    const objs = new ManagementChart(new App(), '60-management', config).toJson() as Manifest[];
    const spec = policy(objs, 'dozzle-traffic');
    expect(spec.egress).toEqual(apiEgress('10.96.0.1/32', '192.168.178.10/32', 7443));
    expect(spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dmz' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nginx-proxy-manager' } } },
    ]);
    expect(objs.filter((o) => o.kind === 'Ingress')).toEqual([]);
  });

  test('a zone left out of watchedZones is left alone entirely', () => {
    const objs = management({ management: { uptimeKuma: { watchedZones: ['apps', 'monitoring', 'management'] } } });
    expect(objs.find((o) => o.metadata.namespace === 'vpn')).toBeUndefined();
    const egressNamespaces = policy(objs, 'uptime-kuma-traffic').egress.flatMap((r: any) => r.to.map((p: any) => p.namespaceSelector?.matchLabels['kubernetes.io/metadata.name']));
    expect(egressNamespaces).not.toContain('vpn');
  });

  test('a disabled app is not watched', () => {
    const objs = management({ components: { kopia: { enabled: false } } });
    expect(objs.find((o) => o.metadata.name === 'kopia-from-uptime-kuma')).toBeUndefined();
  });

  test('Diun gets the SMTP port to the internet only when email is configured', () => {
    const diunPolicy = (notifiers: DiunNotifiers) => {
      const chart = new PotatoChart(new App(), 'diun-only', fullConfig());
      new Diun(chart, 'diun', { namespace: NAMESPACE, notifiers });
      return find(chart.toJson(), 'NetworkPolicy', 'diun-traffic', NAMESPACE).spec.egress;
    };
    const email = { host: 'smtp.example.org', port: 587, from: 'potato@example.org', to: ['me@example.org'], username: 'potato', ssl: false };
    expect(diunPolicy({ email })).toEqual([...defaultApi, internet(443), internet(587)]);
    expect(diunPolicy({ telegram: { chatIds: ['1'] } })).toEqual([...defaultApi, internet(443)]);
  });
});

describe('workloads', () => {
  test('Portainer runs as root by an explained exception, otherwise hardened, data on its claim', () => {
    const d = find(objects, 'Deployment', 'portainer', NAMESPACE);
    const c = container(objects, 'portainer');
    expect(d.spec.template.metadata.annotations[`${SECURITY_EXCEPTION_ANNOTATION}.portainer`]).toMatch(/root/);
    expect(c.securityContext).toMatchObject({ runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(volumeSpec('portainer-data').uid).toBe(0);
    expect(podSpecOf(d).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'portainer-data' } });
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(c.args).toEqual(['--http-enabled']);
    expect(c.ports.map((p: any) => p.containerPort)).toEqual([9000, 9443]);
    expect(c.startupProbe.httpGet).toMatchObject({ path: '/api/system/status', port: 'http' });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/api/system/status', port: 'http' });
  });

  test('Uptime Kuma runs as the data folder owner, SQLite on its claim, heap below the limit', () => {
    const d = find(objects, 'Deployment', 'uptime-kuma', NAMESPACE);
    const c = container(objects, 'uptime-kuma');
    expect(podSpecOf(d).securityContext.runAsUser).toBe(volumeSpec('uptime-kuma-data').uid);
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/app/data' });
    expect(podSpecOf(d).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'uptime-kuma-data' } });
    const env = envOf(c);
    expect(env.UPTIME_KUMA_DB_TYPE).toBe('sqlite');
    const heap = Number(/--max-old-space-size=([0-9]+)/.exec(env.NODE_OPTIONS)![1]);
    expect(heap).toBeGreaterThan(0);
    expect(heap * 1024 ** 2).toBeLessThan(192 * 1024 ** 2);
    expect(c.command).toEqual(['/usr/bin/dumb-init', '--', 'node', 'server/server.js']);
    expect(c.startupProbe.httpGet).toMatchObject({ path: '/', port: 'http' });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/', port: 'http' });
  });

  test('Dozzle runs in k8s mode with its own login from the dozzle-users Secret', () => {
    const d = find(objects, 'Deployment', 'dozzle', NAMESPACE);
    const c = container(objects, 'dozzle');
    const env = envOf(c);
    expect(env.DOZZLE_MODE).toBe('k8s');
    expect(env.DOZZLE_AUTH_PROVIDER).toBe('simple');
    const users = podSpecOf(d).volumes.find((v: any) => v.name === 'users');
    expect(users.secret.secretName).toBe('dozzle-users');
    expect(users.secret.optional).toBeUndefined();
    expect(c.volumeMounts).toContainEqual({ name: 'users', mountPath: '/data/users.yml', subPath: 'users.yml', readOnly: true });
    expect(c.startupProbe.httpGet).toMatchObject({ path: '/healthcheck', port: 'http' });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthcheck', port: 'http' });
  });

  test('Diun watches annotated pods on the configured schedule, quietly on first check', () => {
    const env = envOf(container(objects, 'diun'));
    expect(env).toMatchObject({
      DIUN_PROVIDERS_KUBERNETES: 'true',
      DIUN_PROVIDERS_KUBERNETES_WATCHBYDEFAULT: 'false',
      DIUN_WATCH_SCHEDULE: '0 */6 * * *',
      DIUN_WATCH_FIRSTCHECKNOTIF: 'false',
      DIUN_DEFAULTS_WATCHREPO: 'true',
      DIUN_DEFAULTS_MAXTAGS: '5',
      TZ: DEFAULT_CONFIG.timezone,
    });
    const custom = envOf(container(management({ management: { diun: { schedule: '30 4 * * *', watchRepo: false } } }), 'diun'));
    expect(custom.DIUN_WATCH_SCHEDULE).toBe('30 4 * * *');
    expect(custom.DIUN_DEFAULTS_WATCHREPO).toBeUndefined();
  });

  test('Diun has a probe on its gRPC server and no Service or Ingress', () => {
    const c = container(objects, 'diun');
    expect(c.startupProbe.tcpSocket.port).toBe('grpc');
    expect(c.livenessProbe.tcpSocket.port).toBe('grpc');
    expect(c.ports).toEqual([{ name: 'grpc', containerPort: 42286, protocol: 'TCP' }]);
    expect(objects.filter((o) => ['Service', 'Ingress'].includes(o.kind) && o.metadata.name === 'diun')).toEqual([]);
  });

  test('Ingresses: portainer, status and logs hosts to each http Service port', () => {
    const hosts = objects.filter((o) => o.kind === 'Ingress').map((i) => [i.metadata.name, i.spec.rules[0].host, i.spec.rules[0].http.paths[0].backend.service]);
    expect(hosts.sort()).toEqual([
      ['dozzle', 'logs.potato.lan', { name: 'dozzle', port: { name: 'http' } }],
      ['portainer', 'portainer.potato.lan', { name: 'portainer', port: { name: 'http' } }],
      ['uptime-kuma', 'status.potato.lan', { name: 'uptime-kuma', port: { name: 'http' } }],
    ]);
  });
});

describe('Diun notifications', () => {
  const config = fullConfig();

  test('no channel configured: no notifier env and no Secret reference', () => {
    const env = diunEnvironment(config, {});
    expect(Object.keys(env).filter((k) => k.startsWith('DIUN_NOTIF_'))).toEqual([]);
    expect(diunSecretKeys({})).toEqual([]);
  });

  test('every credential comes from the diun-notifiers Secret, never as a literal', () => {
    const notifiers = {
      email: { host: 'smtp.example.org', port: 465, from: 'a@example.org', to: ['b@example.org', 'c@example.org'], username: 'a@example.org', ssl: true },
      telegram: { chatIds: ['123', '-456'] },
      slack: {},
      discord: {},
    };
    const env = diunEnvironment(config, notifiers);
    const fromSecret = Object.entries(env).filter(([, v]) => typeof v !== 'string');
    expect(fromSecret.map(([k]) => k).sort()).toEqual(
      ['DIUN_NOTIF_DISCORD_WEBHOOKURL', 'DIUN_NOTIF_MAIL_PASSWORD', 'DIUN_NOTIF_SLACK_WEBHOOKURL', 'DIUN_NOTIF_TELEGRAM_TOKEN'],
    );
    for (const [, v] of fromSecret) expect(v).toMatchObject({ secret: 'diun-notifiers', optional: false });
    expect(env.DIUN_NOTIF_MAIL_TO).toBe('b@example.org,c@example.org');
    expect(env.DIUN_NOTIF_TELEGRAM_CHATIDS).toBe('123,-456');
    expect(diunSecretKeys(notifiers).sort()).toEqual(Object.values(DIUN_SECRET_KEYS).sort());
  });

  test('the channels are the alert receivers the operator enabled, with Alertmanager\'s key names', () => {
    const alerts = {
      email: { enabled: true, smtpHost: 'smtp.example.org', smtpPort: 465, from: 'potato@example.org', to: 'me@example.org', username: 'potato' },
      telegram: { enabled: true, chatId: -1001234 },
      slack: { enabled: false },
      discord: { enabled: true },
    };
    const objs = management({ monitoring: { alerts } });
    const env = envOf(container(objs, 'diun'));
    expect(env).toMatchObject({
      DIUN_NOTIF_MAIL_HOST: 'smtp.example.org',
      DIUN_NOTIF_MAIL_PORT: '465',
      DIUN_NOTIF_MAIL_SSL: 'true',
      DIUN_NOTIF_MAIL_FROM: 'potato@example.org',
      DIUN_NOTIF_MAIL_TO: 'me@example.org',
      DIUN_NOTIF_MAIL_USERNAME: 'potato',
      DIUN_NOTIF_TELEGRAM_CHATIDS: '-1001234',
    });
    expect(env.DIUN_NOTIF_MAIL_PASSWORD).toEqual({ secretKeyRef: { name: 'diun-notifiers', key: 'smtp-password', optional: false } });
    expect(env.DIUN_NOTIF_TELEGRAM_TOKEN).toEqual({ secretKeyRef: { name: 'diun-notifiers', key: 'telegram-bot-token', optional: false } });
    expect(env.DIUN_NOTIF_DISCORD_WEBHOOKURL).toEqual({ secretKeyRef: { name: 'diun-notifiers', key: 'discord-webhook-url', optional: false } });
    expect(env.DIUN_NOTIF_SLACK_WEBHOOKURL).toBeUndefined();
    // Email on 465 opens exactly that port to the internet, besides HTTPS.
    const egress = find(objs, 'NetworkPolicy', 'diun-traffic', NAMESPACE).spec.egress;
    expect(egress.slice(2)).toEqual([internet(443), internet(465)]);
  });

  test('no receiver enabled (the default): Diun logs updates only', () => {
    const env = envOf(container(objects, 'diun'));
    expect(Object.keys(env).filter((k) => k.startsWith('DIUN_NOTIF_'))).toEqual([]);
  });
});

describe('management config validation', () => {
  const problem = (overrides: object) => {
    try {
      fullConfig(overrides);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.join('\n');
      throw e;
    }
    return '';
  };

  test('a malformed or sub-hourly Diun schedule is refused with the prop and value', () => {
    expect(problem({ management: { diun: { schedule: 'every 6 hours' } } })).toMatch(/management\.diun\.schedule: 'every 6 hours' is not allowed; expected a 5-field cron/);
    expect(problem({ management: { diun: { schedule: '*/10 * * * *' } } })).toMatch(/management\.diun\.schedule: '\*\/10 \* \* \* \*' is not allowed; expected at most one run an hour/);
    expect(problem({ management: { diun: { schedule: '15 3 * * MON-FRI' } } })).toBe('');
  });

  test('maxTags and watched zones are checked', () => {
    expect(problem({ management: { diun: { maxTags: 0 } } })).toMatch(/management\.diun\.maxTags: 0 is not allowed/);
    expect(problem({ management: { uptimeKuma: { watchedZones: ['apps', 'data'] as never } } })).toMatch(
      /management\.uptimeKuma\.watchedZones\[1\]: 'data' is not allowed; expected one of apps, vpn, monitoring, management/,
    );
  });
});

describe('watched ports cover the web UIs the stack actually serves', () => {
  // Follows each Ingress to the container port behind it: a NetworkPolicy sees that port.
  function backendContainerPort(all: Manifest[], ingress: Manifest): number {
    const ns = ingress.metadata.namespace;
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    const service = find(all, 'Service', backend.name, ns);
    const servicePort = service.spec.ports.find((p: any) => (backend.port.name ? p.name === backend.port.name : p.port === backend.port.number));
    const target = servicePort.targetPort ?? servicePort.port;
    if (typeof target === 'number') return target;
    const selector = service.spec.selector as Record<string, string>;
    const workload = all.find(
      (o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind) && o.metadata.namespace === ns && Object.entries(selector).every(([k, v]) => o.spec.template.metadata.labels?.[k] === v),
    )!;
    const spec = podSpecOf(workload);
    const port = [...(spec.initContainers ?? []), ...spec.containers].flatMap((c: any) => c.ports ?? []).find((p: any) => p.name === target);
    return port.containerPort;
  }

  test('every Ingress backend in a watched zone listens on a port Uptime Kuma may reach', () => {
    const all = synthFull();
    const { watchedZones } = fullConfig().management.uptimeKuma;
    const allowed = find(all, 'NetworkPolicy', 'uptime-kuma-traffic', 'management').spec.egress.flatMap((r: any) =>
      r.to.filter((p: any) => p.podSelector).map((p: any) => ({ namespace: p.namespaceSelector.matchLabels['kubernetes.io/metadata.name'], app: p.podSelector.matchLabels['app.kubernetes.io/name'], ports: r.ports.map((x: any) => x.port) })),
    );
    // Uptime Kuma does not check itself.
    const ingresses = all.filter((o) => o.kind === 'Ingress' && o.metadata.name !== 'uptime-kuma' && (watchedZones as readonly string[]).includes(o.metadata.namespace!));
    expect(ingresses.length).toBeGreaterThanOrEqual(8);
    for (const ingress of ingresses) {
      const port = backendContainerPort(all, ingress);
      expect([ingress.metadata.name, allowed.some((a: any) => a.namespace === ingress.metadata.namespace && a.ports.includes(port))]).toEqual([ingress.metadata.name, true]);
    }
  });
});
