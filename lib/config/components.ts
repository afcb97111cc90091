import { EVIDENCE, Evidence, peakMi, steadyMi } from './evidence';
import type { PriorityTierName } from './priorities';
import type { ContainerSize } from './types';
import type { ZoneName } from './zones';

/**
 * The one place where every component is sized. Memory follows one rule from the evidence rows
 * (lib/config/evidence.ts): the request covers the steady working set and the limit covers the
 * light-use peak with a margin; heap caps (GOMEMLIMIT, V8, .NET, PHP) are derived from the limit by
 * each app. The budget check (lib/budget.ts) holds the requests to what the node leaves for pods.
 */
export interface ComponentSpec {
  /** Namespace zone it runs in (`kube-system` for k3s's own Traefik, `flux-system` for Flux). */
  readonly zone: ZoneName | ExternalNamespace;
  /** One-line description, used in reports and the docs. */
  readonly description: string;
  /** On unless the operator (or the profile) turns it off. */
  readonly enabledByDefault: boolean;
  /** Eviction and preemption order of its pods (lib/config/priorities.ts). */
  readonly priority: PriorityTierName;
  /** Default size of each container. */
  readonly containers: Readonly<Record<string, ContainerSize>>;
}

/** Namespaces of components that others install (k3s, the Flux CLI) and the stack only sizes. */
export type ExternalNamespace = 'kube-system' | 'flux-system';

/** Requests are whole multiples of this many MiB. */
export const REQUEST_STEP_MI = 8;
/** Limits are whole multiples of this many MiB. */
export const LIMIT_STEP_MI = 16;
/** A limit's margin over the light-use peak. */
export const LIMIT_MARGIN = 1.2;

const roundUp = (value: number, step: number) => Math.ceil(value / step) * step;

/** Smallest memory request the evidence allows for a container, in MiB. */
export function requestFloorMi(container: string): number {
  return roundUp(steadyMi(evidenceOf(container)), REQUEST_STEP_MI);
}

/** Smallest memory limit the evidence allows for a container, in MiB. */
export function limitFloorMi(container: string): number {
  return Math.max(requestFloorMi(container), roundUp(peakMi(evidenceOf(container)) * LIMIT_MARGIN, LIMIT_STEP_MI));
}

export function evidenceOf(container: string): Evidence {
  const row = EVIDENCE[container];
  if (!row) throw new Error(`container ${container} has no evidence row in lib/config/evidence.ts`);
  return row;
}

/**
 * A container's size by the rule. `raiseLimit` may only raise the memory limit, where a setting
 * derived from the limit (a buffer pool, shared buffers) was measured at that size.
 */
function sized(container: string, cpuRequest: string, cpuLimit: string, raiseLimit?: { toMi: number; why: string }): ContainerSize {
  const limit = Math.max(limitFloorMi(container), raiseLimit?.toMi ?? 0);
  return { requests: { cpu: cpuRequest, memory: `${requestFloorMi(container)}Mi` }, limits: { cpu: cpuLimit, memory: `${limit}Mi` } };
}

export const COMPONENTS = {
  traefik: {
    zone: 'kube-system',
    description: "k3s's bundled Traefik ingress controller, tuned through a HelmChartConfig",
    enabledByDefault: true,
    priority: 'potatostack-critical',
    containers: { traefik: sized('traefik', '25m', '500m') },
  },
  'nginx-proxy-manager': {
    zone: 'dmz',
    description: 'nginx-proxy-manager, the alternative ingress mode',
    enabledByDefault: false,
    priority: 'potatostack-critical',
    containers: { 'nginx-proxy-manager': sized('nginx-proxy-manager', '25m', '500m') },
  },
  homepage: {
    zone: 'apps',
    description: 'Homepage dashboard',
    enabledByDefault: true,
    priority: 'potatostack-optional',
    containers: { homepage: sized('homepage', '10m', '250m') },
  },
  nextcloud: {
    zone: 'apps',
    description: 'Nextcloud (apache) and its cron job',
    enabledByDefault: true,
    priority: 'potatostack-apps',
    containers: {
      nextcloud: sized('nextcloud', '50m', '1'),
      'nextcloud-cron': sized('nextcloud-cron', '20m', '500m'),
    },
  },
  mariadb: {
    zone: 'data',
    description: "MariaDB 10.11, Nextcloud's database",
    enabledByDefault: true,
    priority: 'potatostack-critical',
    // The buffer pool is a quarter of the limit (lib/apps/mariadb.ts); the evidence run used 256Mi.
    containers: { mariadb: sized('mariadb', '25m', '500m', { toMi: 256, why: 'buffer pool measured at a quarter of 256Mi' }) },
  },
  gitea: {
    zone: 'apps',
    description: 'Gitea (rootless)',
    enabledByDefault: true,
    priority: 'potatostack-apps',
    containers: { gitea: sized('gitea', '25m', '500m') },
  },
  postgres: {
    zone: 'data',
    description: "PostgreSQL, Gitea's database",
    enabledByDefault: true,
    priority: 'potatostack-critical',
    // shared_buffers and work_mem follow the limit (lib/apps/postgres.ts); the evidence run used 192Mi.
    containers: { postgres: sized('postgres', '25m', '500m', { toMi: 192, why: 'settings measured at 192Mi' }) },
  },
  kopia: {
    zone: 'apps',
    description: 'Kopia repository server and the backup jobs: nightly dumps and snapshot, copies, verification, maintenance',
    enabledByDefault: true,
    priority: 'potatostack-apps',
    containers: {
      kopia: sized('kopia', '20m', '1'),
      'kopia-snapshot': sized('kopia-snapshot', '20m', '1'),
      // The backup and restore steps: evidence rows in lib/config/evidence.ts, measured by the
      // restore drill (test/integration/backup-drill.test.ts, reports/footprint/kopia-*.json).
      'nextcloud-maintenance': sized('nextcloud-maintenance', '10m', '500m'),
      'dump-mariadb': sized('dump-mariadb', '20m', '500m'),
      'dump-postgres': sized('dump-postgres', '20m', '500m'),
      'kopia-copy': sized('kopia-copy', '20m', '1'),
      'kopia-offsite': sized('kopia-offsite', '20m', '1'),
      'kopia-verify': sized('kopia-verify', '20m', '1'),
      'kopia-maintenance': sized('kopia-maintenance', '20m', '1'),
      'restore-files': sized('restore-files', '20m', '1'),
      'restore-mariadb': sized('restore-mariadb', '20m', '500m'),
      'restore-postgres': sized('restore-postgres', '20m', '500m'),
    },
  },
  vpn: {
    zone: 'vpn',
    description: 'the VPN pod: gluetun sidecar with qBittorrent, plus the weekly download cache cleanup',
    enabledByDefault: true,
    priority: 'potatostack-critical',
    containers: {
      gluetun: sized('gluetun', '20m', '500m'),
      qbittorrent: sized('qbittorrent', '50m', '1'),
      'cache-cleanup': sized('cache-cleanup', '10m', '200m'),
      // busybox init steps: sub-folders and the qBittorrent settings edit, before gluetun starts
      prepare: sized('prepare', '10m', '200m'),
    },
  },
  slskd: {
    zone: 'vpn',
    description: 'slskd (Soulseek), a second app in the VPN pod',
    enabledByDefault: true,
    // It runs in the VPN pod, whose class follows qBittorrent's component.
    priority: 'potatostack-critical',
    containers: { slskd: sized('slskd', '25m', '500m') },
  },
  portainer: {
    zone: 'management',
    description: 'Portainer CE in Kubernetes mode',
    enabledByDefault: true,
    priority: 'potatostack-optional',
    containers: { portainer: sized('portainer', '10m', '500m') },
  },
  'uptime-kuma': {
    zone: 'management',
    description: 'Uptime Kuma',
    enabledByDefault: true,
    priority: 'potatostack-optional',
    containers: { 'uptime-kuma': sized('uptime-kuma', '20m', '500m') },
  },
  dozzle: {
    zone: 'management',
    description: 'Dozzle log viewer in Kubernetes mode',
    enabledByDefault: true,
    priority: 'potatostack-optional',
    containers: { dozzle: sized('dozzle', '5m', '200m') },
  },
  diun: {
    zone: 'management',
    description: 'Diun image update notifier',
    enabledByDefault: true,
    priority: 'potatostack-optional',
    containers: { diun: sized('diun', '5m', '200m') },
  },
  prometheus: {
    zone: 'monitoring',
    description: 'Prometheus',
    enabledByDefault: true,
    priority: 'potatostack-alerting',
    containers: { prometheus: sized('prometheus', '50m', '1') },
  },
  alertmanager: {
    zone: 'monitoring',
    description: 'Alertmanager',
    enabledByDefault: true,
    priority: 'potatostack-alerting',
    containers: { alertmanager: sized('alertmanager', '5m', '200m') },
  },
  grafana: {
    zone: 'monitoring',
    description: 'Grafana',
    enabledByDefault: true,
    priority: 'potatostack-optional',
    containers: { grafana: sized('grafana', '20m', '500m') },
  },
  loki: {
    zone: 'monitoring',
    description: 'Loki (single binary)',
    enabledByDefault: true,
    priority: 'potatostack-optional',
    containers: { loki: sized('loki', '25m', '500m') },
  },
  'fluent-bit': {
    zone: 'monitoring',
    description: 'fluent-bit log shipper (DaemonSet)',
    enabledByDefault: true,
    priority: 'potatostack-optional',
    containers: { 'fluent-bit': sized('fluent-bit', '5m', '200m') },
  },
  'node-exporter': {
    zone: 'monitoring',
    description: 'node-exporter (DaemonSet)',
    enabledByDefault: true,
    priority: 'potatostack-alerting',
    containers: { 'node-exporter': sized('node-exporter', '5m', '200m') },
  },
  'kube-state-metrics': {
    zone: 'monitoring',
    description: 'kube-state-metrics, trimmed to the metrics the rules use',
    enabledByDefault: true,
    priority: 'potatostack-alerting',
    containers: { 'kube-state-metrics': sized('kube-state-metrics', '5m', '200m') },
  },
  netdata: {
    zone: 'monitoring',
    description: 'Netdata (optional, does not fit the default budget)',
    enabledByDefault: false,
    priority: 'potatostack-optional',
    containers: { netdata: sized('netdata', '50m', '1') },
  },
  thanos: {
    zone: 'monitoring',
    description: 'Thanos sidecar and query (optional)',
    enabledByDefault: false,
    priority: 'potatostack-optional',
    containers: {
      'thanos-sidecar': sized('thanos-sidecar', '10m', '500m'),
      'thanos-query': sized('thanos-query', '10m', '500m'),
    },
  },
  flux: {
    zone: 'flux-system',
    description: "Flux's source-controller and kustomize-controller (optional; follows gitops.flux.enabled)",
    enabledByDefault: false,
    // Without it nothing new is deployed, but the running apps keep running.
    priority: 'potatostack-apps',
    containers: {
      'source-controller': sized('source-controller', '50m', '1'),
      'kustomize-controller': sized('kustomize-controller', '50m', '1'),
    },
  },
} as const satisfies Record<string, ComponentSpec>;

export type ComponentName = keyof typeof COMPONENTS;

export const COMPONENT_NAMES = Object.keys(COMPONENTS) as ComponentName[];

/** Component whose sizes list a container of this name; the names are unique across components. */
export function componentOfContainer(name: string): ComponentName | undefined {
  return COMPONENT_NAMES.find((component) => name in COMPONENTS[component].containers);
}

/** Components whose `enabled` follows `ingress.mode` instead of a flag of their own. */
export const INGRESS_COMPONENTS: Readonly<Record<'traefik' | 'nginx-proxy-manager', ComponentName>> = {
  traefik: 'traefik',
  'nginx-proxy-manager': 'nginx-proxy-manager',
};

/** A component that cannot run without another one. */
export const COMPONENT_DEPENDENCIES: ReadonlyArray<readonly [ComponentName, ComponentName]> = [
  ['nextcloud', 'mariadb'],
  ['gitea', 'postgres'],
  ['slskd', 'vpn'],
  ['thanos', 'prometheus'],
  ['grafana', 'prometheus'],
];
