import { Construct } from 'constructs';
import { PotatoStackConfig, ZONES } from '../config';
import { NON_PUBLIC_IPV4 } from '../config/cidr';
import { AppDeployment, AppPolicy, AppService, PotatoChart, Rule, httpProbe, startupWindow } from '../constructs';
import { GITEA_PORTS } from './gitea';
import { PUBLISHED_SSH_PORT, allowedClientRanges } from './traefik';
import { backendsPerApp, webBackends } from './web-backends';

export type { WebBackend } from './web-backends';
export { webBackends, webUiBackends } from './web-backends';

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

/** NPM's egress rules: one per app to its web ports, Gitea's SSH, and HTTPS to the internet for ACME. */
export function npmEgressRules(config: PotatoStackConfig): Rule[] {
  const backends = webBackends(config);
  // Gitea's SSH goes through an NPM stream to the same pods.
  const gitea = backends.find((b) => b.app === 'gitea');
  if (gitea) backends.push({ ...gitea, title: 'Gitea SSH', port: GITEA_SSH_PORT });
  return [
    ...backendsPerApp(backends).map((b) => ({ peers: [{ app: b.app, namespace: b.namespace }], ports: b.ports.map((port) => ({ port })) })),
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
