import type { ContainerSize } from './types';
import type { ZoneName } from './zones';

/**
 * The one place where every component is sized. Requests follow what each program uses
 * idle-to-busy on an arm64 board; limits leave headroom for peaks without letting one
 * runaway process take the node. The budget check (lib/budget.ts) holds the sum of the
 * requests to the memory the node model leaves for workloads.
 */
export interface ComponentSpec {
  /** Namespace zone it runs in (`kube-system` for k3s's own Traefik). */
  readonly zone: ZoneName | 'kube-system';
  /** One-line description, used in reports and the README. */
  readonly description: string;
  /** On unless the operator turns it off. */
  readonly enabledByDefault: boolean;
  /** Default size of each container. */
  readonly containers: Readonly<Record<string, ContainerSize>>;
}

function size(cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string): ContainerSize {
  return { requests: { cpu: cpuRequest, memory: memoryRequest }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}

export const COMPONENTS = {
  traefik: {
    zone: 'kube-system',
    description: "k3s's bundled Traefik ingress controller, tuned through a HelmChartConfig",
    enabledByDefault: true,
    containers: { traefik: size('25m', '48Mi', '500m', '128Mi') },
  },
  'nginx-proxy-manager': {
    zone: 'dmz',
    description: 'nginx-proxy-manager, the alternative ingress mode',
    enabledByDefault: false,
    containers: { 'nginx-proxy-manager': size('25m', '96Mi', '500m', '256Mi') },
  },
  homepage: {
    zone: 'apps',
    description: 'Homepage dashboard',
    enabledByDefault: true,
    containers: { homepage: size('10m', '40Mi', '250m', '128Mi') },
  },
  nextcloud: {
    zone: 'apps',
    description: 'Nextcloud (apache) and its cron job',
    enabledByDefault: true,
    containers: {
      nextcloud: size('50m', '128Mi', '1', '512Mi'),
      'nextcloud-cron': size('20m', '48Mi', '500m', '256Mi'),
    },
  },
  mariadb: {
    zone: 'data',
    description: "MariaDB 10.11, Nextcloud's database",
    enabledByDefault: true,
    // Request: measured resident size with a 64 MiB buffer pool filled and two idle sessions
    // (reports/databases.md); the buffer pool is a quarter of the limit (lib/apps/mariadb.ts).
    containers: { mariadb: size('25m', '128Mi', '500m', '256Mi') },
  },
  gitea: {
    zone: 'apps',
    description: 'Gitea (rootless)',
    enabledByDefault: true,
    containers: { gitea: size('25m', '72Mi', '500m', '256Mi') },
  },
  postgres: {
    zone: 'data',
    description: "PostgreSQL, Gitea's database",
    enabledByDefault: true,
    // Request: measured PSS of all server processes with two sessions is 29-31 MiB
    // (reports/databases.md), plus room for autovacuum and Gitea's busier moments.
    containers: { postgres: size('25m', '48Mi', '500m', '192Mi') },
  },
  kopia: {
    zone: 'apps',
    description: 'Kopia repository server and its nightly snapshot CronJob',
    enabledByDefault: true,
    containers: {
      kopia: size('20m', '48Mi', '1', '256Mi'),
      // Nightly snapshot. Measured with kopia 0.21.1 on amd64, one file at a time, GOMEMLIMIT
      // at the request (96MiB): 132k files / 3.4 GB peak at 109 MiB anonymous memory for the
      // first full snapshot and 74 MiB for an unchanged re-run, plus ~40 MiB of the binary's
      // mapped pages. The request covers the nightly (incremental) run and fits the budget's
      // headroom beside the steady load; the limit leaves room for a first full snapshot.
      'kopia-snapshot': size('20m', '96Mi', '1', '320Mi'),
    },
  },
  vpn: {
    zone: 'vpn',
    description: 'gluetun VPN sidecar with qBittorrent and slskd, plus the weekly cache cleanup',
    enabledByDefault: true,
    containers: {
      gluetun: size('20m', '24Mi', '500m', '64Mi'),
      qbittorrent: size('50m', '64Mi', '1', '256Mi'),
      slskd: size('25m', '64Mi', '500m', '256Mi'),
      'cache-cleanup': size('10m', '8Mi', '200m', '32Mi'),
      // busybox init steps: sub-folders and the qBittorrent settings edit, before gluetun starts
      prepare: size('10m', '8Mi', '200m', '32Mi'),
    },
  },
  portainer: {
    zone: 'management',
    description: 'Portainer CE in Kubernetes mode',
    enabledByDefault: true,
    containers: { portainer: size('10m', '32Mi', '500m', '128Mi') },
  },
  'uptime-kuma': {
    zone: 'management',
    description: 'Uptime Kuma',
    enabledByDefault: true,
    containers: { 'uptime-kuma': size('20m', '48Mi', '500m', '192Mi') },
  },
  dozzle: {
    zone: 'management',
    description: 'Dozzle log viewer in Kubernetes mode',
    enabledByDefault: true,
    containers: { dozzle: size('5m', '16Mi', '200m', '48Mi') },
  },
  diun: {
    zone: 'management',
    description: 'Diun image update notifier',
    enabledByDefault: true,
    containers: { diun: size('5m', '16Mi', '200m', '48Mi') },
  },
  prometheus: {
    zone: 'monitoring',
    description: 'Prometheus',
    enabledByDefault: true,
    // Request: an estimated 5-6k series after the scrape-time metric diet (prometheus-config.ts)
    // keep the head block and Go runtime near 100-150 MiB. Limit 320Mi: Prometheus 3 sets
    // GOMEMLIMIT to 90 % of it; two concurrent queries of at most 5 M samples and a WAL replay fit.
    containers: { prometheus: size('50m', '128Mi', '1', '320Mi') },
  },
  alertmanager: {
    zone: 'monitoring',
    description: 'Alertmanager',
    enabledByDefault: true,
    // A handful of alerts, silences and a notification log: 20-30 MiB resident; GOMEMLIMIT at 80 % of 48Mi.
    containers: { alertmanager: size('5m', '24Mi', '200m', '48Mi') },
  },
  grafana: {
    zone: 'monitoring',
    description: 'Grafana',
    enabledByDefault: true,
    // Limit 160Mi: no plugins, no Grafana alerting, five small dashboards; GOMEMLIMIT (80 %) makes the Go GC hold it.
    containers: { grafana: size('20m', '48Mi', '500m', '160Mi') },
  },
  loki: {
    zone: 'monitoring',
    description: 'Loki (single binary)',
    enabledByDefault: true,
    // Limit 192Mi: caches capped at 2 x 16 MB, WAL replay at 64 MB, query parallelism 2 (loki.ts); GOMEMLIMIT at 80 %.
    containers: { loki: size('25m', '56Mi', '500m', '192Mi') },
  },
  'fluent-bit': {
    zone: 'monitoring',
    description: 'fluent-bit log shipper (DaemonSet)',
    enabledByDefault: true,
    // Limit 32Mi: Mem_Buf_Limit 4MB pauses the tail input instead of buffering more.
    containers: { 'fluent-bit': size('5m', '12Mi', '200m', '32Mi') },
  },
  'node-exporter': {
    zone: 'monitoring',
    description: 'node-exporter (DaemonSet)',
    enabledByDefault: true,
    containers: { 'node-exporter': size('5m', '12Mi', '200m', '32Mi') },
  },
  'kube-state-metrics': {
    zone: 'monitoring',
    description: 'kube-state-metrics, trimmed to the metrics the rules use',
    enabledByDefault: true,
    // Limit 48Mi: nine resource kinds and an allow-list of ~40 families on one node's few dozen objects.
    containers: { 'kube-state-metrics': size('5m', '20Mi', '200m', '48Mi') },
  },
  'smartctl-exporter': {
    zone: 'monitoring',
    description: 'smartctl-exporter for the two HDDs (DaemonSet)',
    enabledByDefault: true,
    containers: { 'smartctl-exporter': size('5m', '12Mi', '200m', '32Mi') },
  },
  netdata: {
    zone: 'monitoring',
    description: 'Netdata (optional, does not fit the default budget)',
    enabledByDefault: false,
    containers: { netdata: size('50m', '256Mi', '1', '384Mi') },
  },
  thanos: {
    zone: 'monitoring',
    description: 'Thanos sidecar and query (optional)',
    enabledByDefault: false,
    containers: {
      'thanos-sidecar': size('10m', '48Mi', '500m', '128Mi'),
      'thanos-query': size('10m', '48Mi', '500m', '128Mi'),
    },
  },
} as const satisfies Record<string, ComponentSpec>;

export type ComponentName = keyof typeof COMPONENTS;

export const COMPONENT_NAMES = Object.keys(COMPONENTS) as ComponentName[];

/** Components whose `enabled` follows `ingress.mode` instead of a flag of their own. */
export const INGRESS_COMPONENTS: Readonly<Record<'traefik' | 'nginx-proxy-manager', ComponentName>> = {
  traefik: 'traefik',
  'nginx-proxy-manager': 'nginx-proxy-manager',
};

/** A component that cannot run without another one. */
export const COMPONENT_DEPENDENCIES: ReadonlyArray<readonly [ComponentName, ComponentName]> = [
  ['nextcloud', 'mariadb'],
  ['gitea', 'postgres'],
  ['thanos', 'prometheus'],
  ['grafana', 'prometheus'],
];
