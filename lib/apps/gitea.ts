import { Construct } from 'constructs';
import {
  AppDeployment,
  AppPolicy,
  PotatoChart,
  ProxiedWebUi,
  goMemLimit,
  hostFor,
  httpProbe,
  startupWindow,
} from '../constructs';
import { PUBLISHED_SSH_PORT } from './traefik';

export const GITEA = 'gitea';
export const GITEA_SUBDOMAIN = 'git';
/** Service and container ports; the proxy routes SSH to the Service port named `ssh`. */
export const GITEA_PORTS = { http: 3000, ssh: 2222 } as const;
/** Secret with Gitea's own secrets (never generated into app.ini by the chart). */
export const GITEA_SECRETS = { name: 'gitea-secrets', secretKeyKey: 'secret-key', internalTokenKey: 'internal-token' } as const;
/** The rootless image's `git` user, owner of the gitea folder on the HDD. */
export const GITEA_UID = 1000;
/** Gitea's health endpoint: answers 200 only while its database and cache answer their pings. */
export const GITEA_HEALTH_PATH = '/api/healthz';
/**
 * A static file Gitea serves from the assets embedded in its binary, through its own router but
 * before any session or database middleware: it answers as long as Gitea's HTTP server works,
 * whatever the database does.
 */
export const GITEA_LIVENESS_PATH = '/assets/img/favicon.svg';
/** Where app.ini lives: on the claim, so Gitea's own generated JWT secrets survive restarts. */
export const GITEA_APP_INI = '/var/lib/gitea/conf/app.ini';

/** Where Gitea's database lives (the data zone's PostgreSQL). */
export interface GiteaDatabase {
  readonly host: string;
  readonly port: number;
  readonly namespace: string;
  readonly app: string;
  readonly database: string;
  readonly user: string;
  readonly passwordSecret: { readonly name: string; readonly key: string };
  /** Server-side connection cap; Gitea's pool stays below it. */
  readonly maxConnections: number;
}

export interface GiteaProps {
  readonly namespace: string;
  readonly database: GiteaDatabase;
}

/**
 * Gitea (rootless image, uid 1000) configured entirely through GITEA__section__KEY env, which
 * the image's entrypoint writes into app.ini at every start. Install is locked: the first
 * admin is created with `gitea admin user create` (see docs/apps.md).
 *
 * app.ini sits on the claim (not /etc/gitea, the image's default): a subPath folder would be
 * created root-owned by the kubelet, and Gitea writes generated JWT secrets back into it.
 */
export class Gitea extends Construct {
  readonly serviceName = GITEA;

  constructor(scope: Construct, id: string, props: GiteaProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const { namespace, database } = props;
    const host = hostFor(config, GITEA_SUBDOMAIN);
    const size = chart.size('gitea', 'gitea');

    new AppDeployment(this, 'Deployment', {
      name: GITEA,
      namespace,
      role: 'server',
      runAs: { uid: GITEA_UID, gid: GITEA_UID },
      volumes: [
        { name: 'data', claim: 'gitea-data' },
        { name: 'tmp', emptyDir: { sizeLimit: '512Mi' } },
      ],
      containers: [
        {
          name: GITEA,
          image: 'gitea',
          size,
          env: {
            GITEA_APP_INI,
            GOMEMLIMIT: goMemLimit(size),
            GITEA__database__DB_TYPE: 'postgres',
            GITEA__database__HOST: `${database.host}:${database.port}`,
            GITEA__database__NAME: database.database,
            GITEA__database__USER: database.user,
            GITEA__database__PASSWD: { secret: database.passwordSecret.name, key: database.passwordSecret.key },
            GITEA__database__SSL_MODE: 'disable',
            // Keep Gitea's pool under the server's cap (minus the superuser reserve).
            GITEA__database__MAX_OPEN_CONNS: String(Math.max(2, database.maxConnections - 5)),
            GITEA__database__MAX_IDLE_CONNS: '2',
            GITEA__security__INSTALL_LOCK: 'true',
            GITEA__security__SECRET_KEY: { secret: GITEA_SECRETS.name, key: GITEA_SECRETS.secretKeyKey },
            GITEA__security__INTERNAL_TOKEN: { secret: GITEA_SECRETS.name, key: GITEA_SECRETS.internalTokenKey },
            // Only Traefik (a pod) talks to Gitea; trust its X-Forwarded-For from the pod network.
            GITEA__security__REVERSE_PROXY_TRUSTED_PROXIES: config.network.podCidr,
            GITEA__server__DOMAIN: host,
            GITEA__server__ROOT_URL: `https://${host}/`,
            GITEA__server__HTTP_PORT: String(GITEA_PORTS.http),
            GITEA__server__SSH_DOMAIN: host,
            // Clone URLs show the port the proxy publishes; the built-in server listens on 2222.
            GITEA__server__SSH_PORT: String(PUBLISHED_SSH_PORT),
            GITEA__server__SSH_LISTEN_PORT: String(GITEA_PORTS.ssh),
            GITEA__server__START_SSH_SERVER: 'true',
            GITEA__server__OFFLINE_MODE: 'true',
            GITEA__service__DISABLE_REGISTRATION: 'true',
            GITEA__log__MODE: 'console',
            GITEA__cron__ENABLED: 'true',
            TZ: config.timezone,
          },
          ports: [
            { name: 'http', port: GITEA_PORTS.http },
            { name: 'ssh', port: GITEA_PORTS.ssh },
          ],
          mounts: [
            { volume: 'data', path: '/var/lib/gitea' },
            { volume: 'tmp', path: '/tmp' },
          ],
          probes: {
            // /api/healthz pings the database (and cache): right for startup (first start migrates the
            // schema on the HDD-backed database) and readiness, so traffic stops while PostgreSQL is away.
            startup: startupWindow(httpProbe(GITEA_HEALTH_PATH, 'http'), 10),
            readiness: httpProbe(GITEA_HEALTH_PATH, 'http', { periodSeconds: 15 }),
            // Liveness tests Gitea alone: a database restart must not restart (and crash-loop) Gitea.
            liveness: httpProbe(GITEA_LIVENESS_PATH, 'http', { periodSeconds: 30, failureThreshold: 4 }),
          },
        },
      ],
    });

    const ui = new ProxiedWebUi(this, 'Ui', {
      name: GITEA,
      namespace,
      role: 'server',
      subdomain: GITEA_SUBDOMAIN,
      port: GITEA_PORTS.http,
      extraPorts: [{ name: 'ssh', port: GITEA_PORTS.ssh }],
    });

    new AppPolicy(this, 'Policy', {
      name: GITEA,
      namespace,
      app: GITEA,
      // The proxy also forwards Git over SSH.
      ingress: [{ ...ui.ingressRule, ports: [...ui.ingressRule.ports, { port: GITEA_PORTS.ssh }] }],
      egress: [{ peers: [{ app: database.app, namespace: database.namespace }], ports: [{ port: database.port }] }],
    });
  }
}
