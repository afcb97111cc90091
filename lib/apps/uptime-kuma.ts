import { Construct } from 'constructs';
import { NON_PUBLIC_IPV4 } from '../config/cidr';
import type { ContainerSize, PotatoStackConfig } from '../config';
import { backendsPerApp, webBackends } from './web-backends';
import {
  AppDeployment,
  AppPolicy,
  PotatoChart,
  ProxiedWebUi,
  Rule,
  httpProbe,
  memoryLimitBytes,
  startupWindow,
} from '../constructs';
import type { WebAppProps } from '../constructs';

export const UPTIME_KUMA_NAME = 'uptime-kuma';
export const UPTIME_KUMA_PORT = 3001;
export const UPTIME_KUMA_DATA_CLAIM = 'uptime-kuma-data';
/** The node user of the image; the host preparation script gives it the data folder. */
export const UPTIME_KUMA_UID = 1000;

export type UptimeKumaProps = WebAppProps;

/** V8 old-space cap: about 60 % of the limit, leaving room for buffers, code and the SQLite cache. */
export function nodeHeapMegabytes(size: ContainerSize): number {
  return Math.floor((memoryLimitBytes(size) * 0.6) / 1024 ** 2);
}

/**
 * The web UIs Uptime Kuma's monitors may reach in-cluster: every enabled UI in the zones of
 * `management.uptimeKuma.watchedZones`, on exactly its container port, one entry per app.
 */
export function watchedTargets(config: PotatoStackConfig): { namespace: string; app: string; ports: number[] }[] {
  const zones = config.management.uptimeKuma.watchedZones;
  return backendsPerApp(webBackends(config).filter((b) => b.app !== UPTIME_KUMA_NAME && (zones as readonly string[]).includes(b.namespace)));
}

/**
 * Uptime Kuma (slim image, SQLite on the main HDD). Monitors check the apps in-cluster through
 * their Services (`http://<service>.<namespace>.svc:<port>`), which tests each app on its own
 * rather than the proxy, and public sites over HTTPS.
 */
export class UptimeKuma extends Construct {
  constructor(scope: Construct, id: string, props: UptimeKumaProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const { namespace } = props;
    const size = chart.size('uptime-kuma', 'uptime-kuma');

    new AppDeployment(this, 'deployment', {
      name: UPTIME_KUMA_NAME,
      namespace,
      role: 'server',
      runAs: { uid: UPTIME_KUMA_UID, gid: UPTIME_KUMA_UID },
      volumes: [
        { name: 'data', claim: UPTIME_KUMA_DATA_CLAIM },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ],
      containers: [
        {
          name: 'uptime-kuma',
          image: 'uptime-kuma',
          size,
          // The image's entrypoint chowns /app/data and switches user, which needs root; the host
          // preparation script already owns the folder to this UID, so start the server directly
          // (dumb-init still reaps the ping processes monitors spawn).
          command: ['/usr/bin/dumb-init', '--', 'node', 'server/server.js'],
          workingDir: '/app',
          env: {
            TZ: config.timezone,
            DATA_DIR: '/app/data/',
            UPTIME_KUMA_PORT: String(UPTIME_KUMA_PORT),
            // Skips the database choice of the setup wizard: SQLite on the HDD.
            UPTIME_KUMA_DB_TYPE: 'sqlite',
            NODE_OPTIONS: `--max-old-space-size=${nodeHeapMegabytes(size)}`,
          },
          ports: [{ name: 'http', port: UPTIME_KUMA_PORT }],
          mounts: [
            { volume: 'data', path: '/app/data' },
            { volume: 'tmp', path: '/tmp' },
          ],
          probes: {
            // Database migrations on a major upgrade can take minutes on the board's HDD.
            startup: startupWindow(httpProbe('/', 'http'), 10),
            liveness: httpProbe('/', 'http', { periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 4 }),
          },
        },
      ],
    });

    const ui = new ProxiedWebUi(this, 'ui', { name: UPTIME_KUMA_NAME, namespace, role: 'server', subdomain: props.subdomain, port: UPTIME_KUMA_PORT });

    const clusterChecks: Rule[] = watchedTargets(config).map((t) => ({
      peers: [{ app: t.app, namespace: t.namespace }],
      ports: t.ports.map((port) => ({ port })),
    }));
    new AppPolicy(this, 'policy', {
      name: `${UPTIME_KUMA_NAME}-traffic`,
      namespace,
      app: UPTIME_KUMA_NAME,
      ingress: [ui.ingressRule],
      egress: [
        ...clusterChecks,
        // Public sites and HTTPS notification services; never the LAN or the cluster this way.
        { peers: [{ cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 }], ports: [{ port: 443 }] },
      ],
    });

    // The other half of each in-cluster check: every zone starts from default-deny ingress.
    for (const t of watchedTargets(config)) {
      new AppPolicy(this, `checks-${t.namespace}-${t.app}`, {
        name: `${t.app}-from-uptime-kuma`,
        namespace: t.namespace,
        app: t.app,
        ingress: [{ peers: [{ app: UPTIME_KUMA_NAME, namespace }], ports: t.ports.map((port) => ({ port })) }],
      });
    }
  }
}
