import { Construct } from 'constructs';
import { COMPONENTS, ComponentName, PotatoStackConfig, WEB_UIS, ZONES } from '../config';
import { NON_PUBLIC_IPV4 } from '../config/cidr';
import { AppDeployment, AppPolicy, AppService, PotatoChart, Peer, PortSpec, Rule, httpProbe, startupWindow } from '../constructs';
import { VPN_POD } from '../names';
import { DOZZLE_PORT } from './dozzle';
import { GITEA_PORTS } from './gitea';
import { HOMEPAGE_PORT } from './homepage';
import { KOPIA_PORTS } from './kopia';
import { ALERTMANAGER_PORT, GRAFANA_PORT, PROMETHEUS_PORT } from './monitoring/grafana';
import { NETDATA_PORT } from './monitoring/netdata';
import { NEXTCLOUD_HTTP_PORT } from './nextcloud';
import { PORTAINER_HTTP_PORT } from './portainer';
import { UPTIME_KUMA_PORT } from './uptime-kuma';
import { SLSKD_WEB_PORT } from './vpn/slskd';
import { QBITTORRENT_WEB_PORT } from './vpn/qbittorrent';
import { PUBLISHED_SSH_PORT, allowedClientRanges } from './traefik';

export const NPM_NAME = 'nginx-proxy-manager';
export const NPM_NAMESPACE = ZONES.dmz.namespace;
/** The claim of lib/config/volumes.ts holding NPM's database, nginx config and certificates. */
export const NPM_CLAIM = 'nginx-proxy-manager-data';
/** Secret with the first admin login (keys `email`, `password`); NPM reads it on first start only. */
export const NPM_ADMIN_SECRET = 'nginx-proxy-manager-admin';

/** Ports NPM listens on and the node publishes (ServiceLB). */
export const NPM_PORTS = { http: 80, https: 443, admin: 81, ssh: PUBLISHED_SSH_PORT } as const;

/** Gitea's SSH port (Service and container), the target of the TCP route and of an NPM stream. */
export const GITEA_SSH_PORT = GITEA_PORTS.ssh;

/**
 * The pod port behind each web UI of lib/config/web-uis.ts, by title. NetworkPolicy sees the
 * pod address and container port after the Service's DNAT, so NPM's egress must name these,
 * not the Service ports. The numbers come from each app's module; test/proxy.test.ts checks
 * them against the synthesized Ingresses, Services and containers.
 */
export const WEB_UI_BACKENDS: Readonly<Record<string, { readonly app: string; readonly port: number }>> = {
  Homepage: { app: 'homepage', port: HOMEPAGE_PORT },
  Nextcloud: { app: 'nextcloud', port: NEXTCLOUD_HTTP_PORT },
  Kopia: { app: 'kopia', port: KOPIA_PORTS.https },
  Gitea: { app: 'gitea', port: GITEA_PORTS.http },
  qBittorrent: { app: VPN_POD, port: QBITTORRENT_WEB_PORT },
  slskd: { app: VPN_POD, port: SLSKD_WEB_PORT },
  Grafana: { app: 'grafana', port: GRAFANA_PORT },
  Prometheus: { app: 'prometheus', port: PROMETHEUS_PORT },
  Alertmanager: { app: 'alertmanager', port: ALERTMANAGER_PORT },
  Netdata: { app: 'netdata', port: NETDATA_PORT },
  Portainer: { app: 'portainer', port: PORTAINER_HTTP_PORT },
  'Uptime Kuma': { app: 'uptime-kuma', port: UPTIME_KUMA_PORT },
  Dozzle: { app: 'dozzle', port: DOZZLE_PORT },
};

/** A web UI NPM proxies to: the pods and port it must reach. */
export interface WebBackend {
  readonly title: string;
  readonly component: ComponentName;
  readonly namespace: string;
  readonly app: string;
  readonly port: number;
}

/** Namespace of a component's pods. */
function namespaceOf(component: ComponentName): string {
  const zone = COMPONENTS[component].zone;
  return zone === 'kube-system' ? 'kube-system' : ZONES[zone].namespace;
}

/** The web UIs of the enabled components (other than NPM's own UI, which it serves locally). */
export function webBackends(config: PotatoStackConfig): WebBackend[] {
  return WEB_UIS.filter((ui) => ui.component !== NPM_NAME && config.components[ui.component].enabled).map((ui) => {
    const backend = WEB_UI_BACKENDS[ui.title];
    if (!backend) throw new Error(`web UI '${ui.title}' has no backend port in WEB_UI_BACKENDS (lib/apps/nginx-proxy-manager.ts)`);
    return { title: ui.title, component: ui.component, namespace: namespaceOf(ui.component), ...backend };
  });
}

/** NPM's egress rules: one per app to its web ports, Gitea's SSH, and HTTPS to the internet for ACME. */
export function npmEgressRules(config: PotatoStackConfig): Rule[] {
  const ports = new Map<string, { peer: Peer; ports: PortSpec[] }>();
  const add = (namespace: string, app: string, port: number) => {
    const key = `${namespace}/${app}`;
    const entry = ports.get(key) ?? { peer: { app, namespace }, ports: [] };
    if (!entry.ports.some((p) => p.port === port)) entry.ports.push({ port });
    ports.set(key, entry);
  };
  for (const b of webBackends(config)) add(b.namespace, b.app, b.port);
  if (config.components.gitea.enabled) add(namespaceOf('gitea'), 'gitea', GITEA_SSH_PORT);
  return [
    ...[...ports.values()].map((e) => ({ peers: [e.peer], ports: e.ports })),
    // Let's Encrypt's ACME API (and DNS-01 provider APIs) over HTTPS; never private ranges.
    { peers: [{ cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 }], ports: [{ port: 443 }] },
  ];
}

/** Client ranges allowed in: LAN and WireGuard clients, plus the node range when it is set apart. */
export function npmClientRanges(config: PotatoStackConfig): string[] {
  return [...new Set([...allowedClientRanges(config), ...(config.network.nodeCidr ? [config.network.nodeCidr] : [])])];
}

/**
 * nginx-proxy-manager, the seed's proxy, for `ingress.mode: nginx-proxy-manager` (k3s started
 * with `--disable=traefik`). Its database, nginx config and certificates live on the main HDD;
 * its ports are published on the node by ServiceLB and reachable from the LAN and WireGuard
 * clients only, the admin UI (81) included.
 */
export class NginxProxyManager extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const admin = httpProbe('/api/', 'admin', { timeoutSeconds: 5 });
    const clients = npmClientRanges(config);

    new AppDeployment(this, 'deployment', {
      name: NPM_NAME,
      namespace: NPM_NAMESPACE,
      role: 'reverse-proxy',
      containers: [
        {
          name: NPM_NAME,
          image: 'nginx-proxy-manager',
          size: chart.size('nginx-proxy-manager', 'nginx-proxy-manager'),
          env: {
            TZ: config.timezone,
            // k3s' default cluster network is IPv4 only; nginx fails to bind [::] without IPv6.
            DISABLE_IPV6: 'true',
            INITIAL_ADMIN_EMAIL: { secret: NPM_ADMIN_SECRET, key: 'email', optional: false },
            INITIAL_ADMIN_PASSWORD: { secret: NPM_ADMIN_SECRET, key: 'password', optional: false },
          },
          ports: [
            { name: 'http', port: NPM_PORTS.http },
            { name: 'https', port: NPM_PORTS.https },
            { name: 'admin', port: NPM_PORTS.admin },
            { name: 'ssh', port: NPM_PORTS.ssh },
          ],
          mounts: [
            { volume: 'data', path: '/data', subPath: 'data' },
            { volume: 'data', path: '/etc/letsencrypt', subPath: 'letsencrypt' },
          ],
          // First start creates the SQLite database, runs migrations and a dummy certificate:
          // minutes on the board's cores.
          probes: { startup: startupWindow(admin, 10), liveness: { ...admin, periodSeconds: 30 }, readiness: admin },
          securityException: {
            reason:
              'the image starts s6-overlay as root, which writes nginx and certbot state all over the root filesystem and switches users for nginx workers; ' +
              'it binds 80/443 inside the container',
            runAsRoot: true,
            writableRootFilesystem: true,
            keepDefaultCapabilities: true,
          },
        },
      ],
      volumes: [{ name: 'data', claim: NPM_CLAIM }],
    });

    new AppService(this, 'service', {
      name: NPM_NAME,
      namespace: NPM_NAMESPACE,
      role: 'reverse-proxy',
      type: 'LoadBalancer',
      // Keeps the client address, which the policy below and NPM's access lists check.
      externalTrafficPolicy: 'Local',
      loadBalancerSourceRanges: clients,
      ports: [
        { name: 'http', port: NPM_PORTS.http },
        { name: 'https', port: NPM_PORTS.https },
        { name: 'admin', port: NPM_PORTS.admin },
        { name: 'ssh', port: NPM_PORTS.ssh },
      ],
    });

    new AppPolicy(this, 'policy-ingress', {
      name: `${NPM_NAME}-ingress`,
      namespace: NPM_NAMESPACE,
      app: NPM_NAME,
      ingress: [{ peers: clients.map((cidr) => ({ cidr })), ports: Object.values(NPM_PORTS).map((port) => ({ port })) }],
    });
    new AppPolicy(this, 'policy-egress', {
      name: `${NPM_NAME}-egress`,
      namespace: NPM_NAMESPACE,
      app: NPM_NAME,
      egress: npmEgressRules(config),
    });
  }
}
