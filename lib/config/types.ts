import type { ComponentName } from './components';
import type { GitOpsConfig } from './gitops';
import type { ImageName } from './images';
import type { KopiaConfig } from './kopia';
import type { NextcloudConfig } from './nextcloud';
import type { ManagementConfig } from './management';
import type { PostgresConfig } from './postgres';
import type { TraefikChartMajor } from './traefik-chart';
import type { ProfileName } from './profiles';
import type { AlertReceiverSettings, PrometheusSettings } from './prometheus';
import type { VpnConfig } from './vpn';

/** Requests and limits of one container, as Kubernetes quantities. */
export interface ContainerSize {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** Switch and size of one component. */
export interface ComponentConfig {
  /** Whether the component is synthesized at all. */
  readonly enabled: boolean;
  /** Size of each of the component's containers, keyed by container name. */
  readonly containers: Readonly<Record<string, ContainerSize>>;
}

/** The two USB disks and the node they hang off. */
export interface StorageConfig {
  /** Kubernetes node name of the board with the disks; every hostPath PV pins to it. @default 'potato' */
  readonly nodeName: string;
  /** Absolute mount point of the main HDD. @default '/mnt/seconddrive' */
  readonly mainPath: string;
  /** Absolute mount point of the cache HDD. @default '/mnt/cachehdd' */
  readonly cachePath: string;
  /**
   * Folders the disks may be mounted below: `mainPath` and `cachePath` must each lie strictly
   * inside one of them. Anything else is taken for a folder of the SD card's root file system.
   * None of them may be `/`. Whether a disk really is mounted is checked on the node (host
   * preparation script, `potatostack preflight`).
   * @default ['/mnt', '/media', '/srv'] (the Filesystem Hierarchy Standard's places for mounted file systems)
   */
  readonly mountRoots: readonly string[];
}

/** Address ranges the policies and apps need to know. */
export interface NetworkConfig {
  /** k3s `--cluster-cidr`. @default '10.42.0.0/16' */
  readonly podCidr: string;
  /** k3s `--service-cidr`. @default '10.43.0.0/16' */
  readonly serviceCidr: string;
  /** Home LAN behind the router. @default '192.168.178.0/24' */
  readonly lanCidr: string;
  /** Addresses the router's WireGuard server hands to remote clients. @default '10.8.0.0/24' */
  readonly wireguardClientCidr: string;
  /**
   * Address range of the node(s) themselves. Egress to the Kubernetes API is DNAT-ed to the
   * node address on 6443, so API clients are allowed to reach this range on that port only.
   * @default the LAN range
   */
  readonly nodeCidr?: string;
  /** Port the k3s API server listens on. @default 6443 */
  readonly apiServerPort: number;
}

/** How web traffic enters the cluster. */
export interface IngressConfig {
  /**
   * `traefik`: k3s's bundled Traefik in kube-system (configured through a HelmChartConfig).
   * `nginx-proxy-manager`: the seed's proxy in the `dmz` namespace; k3s must run with
   * `--disable=traefik`.
   * @default 'traefik'
   */
  readonly mode: 'traefik' | 'nginx-proxy-manager';
  /** Name of the kubernetes.io/tls Secret served for every host. @default 'potatostack-tls' */
  readonly tlsSecretName: string;
  /**
   * Major of the Traefik chart the cluster's k3s bundles: the number after `traefik-` in
   * `kubectl -n kube-system get helmchart traefik -o jsonpath='{.spec.chart}'`
   * (`.../traefik-40.1.4+up40.1.0.tgz` is 40). The chart's values changed shape at 37, 39 and
   * 41, and k3s's packaged charts accept unknown keys silently, so values for another chart
   * drop the HTTPS redirect or the JSON logs, or (chart 41's schema) are refused. One of 34, 37,
   * 38, 39, 40, 41; docs/ingress.md lists which k3s releases bundle which. Only read in
   * `traefik` mode.
   * @default 41 (k3s v1.37)
   */
  readonly traefikChart: TraefikChartMajor;
}

/** Compressed swap in RAM, the default on the 2 GB board (lib/host/zram.ts sets it up). */
export interface ZramConfig {
  /** Whether the host gets a zram swap device and the kubelet lets pods swap (LimitedSwap). @default true */
  readonly enabled: boolean;
  /**
   * Size of the zram device (uncompressed pages it can hold) as a percentage of MemTotal; Fedora
   * sizes it at the whole RAM, the kernel advises against more than twice. @default 100
   */
  readonly sizePercent: number;
  /** Compression algorithm of the device. @default 'zstd' */
  readonly algorithm: 'zstd' | 'lz4' | 'lzo-rle';
  /**
   * Assumed compression ratio of the pages swapped out (uncompressed / compressed), used only by the
   * budget to count what zram gives back. The kernel's zram documentation expects 2:1; Fedora reports
   * 2:1 to 3:1 in typical use. @default 2
   */
  readonly compressionRatio: number;
}

/**
 * Memory model of the storage node: what Linux reports and what the OS, k3s and the kubelet keep
 * before pods get the rest. The same figures become the kubelet's reservations in the generated
 * k3s configuration (dist/host/), so the node's allocatable equals what the budget assumes.
 */
export interface NodeModel {
  /**
   * MemTotal of the board as Linux reports it: `grep MemTotal /proc/meminfo` on the board.
   * @default '1950Mi' (a 2 GB Le Potato on an upstream kernel: 1,950-1,990 MiB)
   */
  readonly memTotal: string;
  /** The kubelet's hard eviction threshold on memory.available. @default '100Mi' */
  readonly evictionHard: string;
  /** OS userspace outside Kubernetes: systemd, journald, udev, sshd, WireGuard tools (kubelet system-reserved). @default '200Mi' */
  readonly osReserved: string;
  /**
   * The k3s server process: apiserver, controllers, scheduler, kubelet, kine/SQLite, flannel and the
   * policy controller. Its GOMEMLIMIT is set to 80 % of this. @default '550Mi'
   */
  readonly k3sServer: string;
  /** containerd, which k3s starts beside itself. @default '64Mi' */
  readonly containerd: string;
  /** One containerd-shim-runc-v2 per running pod, charged to the k3s service, not to the pod. @default '8Mi' */
  readonly shimPerPod: string;
  /**
   * Whether k3s runs its metrics-server (`kubectl top`, Dozzle's and the CLI's memory figures).
   * Its manifest requests 70Mi while it uses about 9Mi; off, k3s starts with `--disable=metrics-server`.
   * @default the profile's: false in `board-2gb`, true in `full`
   */
  readonly metricsServer: boolean;
  /** Compressed swap. */
  readonly zram: ZramConfig;
  /**
   * How many programs the RAM + zram check lets peak at once (each up to its memory limit, a job with
   * its whole limit), while every other program sits at its request. @default 1
   */
  readonly concurrentPeaks: number;
}

/**
 * Settings of the monitoring zone. Dashboards, logs and exporters own the props below;
 * Prometheus and Alertmanager props join this section too.
 */
export interface MonitoringConfig {
  /**
   * Secret (in `monitoring`) with Grafana's admin login under the keys `admin-user` and
   * `admin-password`; created out of band, never synthesized. @default 'grafana-admin'
   */
  readonly grafanaAdminSecret: string;
  /**
   * How long Loki keeps logs before the compactor deletes them, in whole days or hours
   * (`30d`, `720h`); at least 24h and a multiple of 24h (Loki's index period). @default '30d'
   */
  readonly lokiRetention: string;
  /**
   * SMART health of the HDDs, read on the storage node itself: dist/host/setup-host.sh installs
   * Debian's smartmontools and its SMART timer, which writes the disks' health every 15 minutes
   * into node-exporter's textfile directory; node-exporter serves it, the SMART alert rules and
   * the dashboard read it (docs/monitoring.md). Takes effect while node-exporter is enabled.
   * @default true
   */
  readonly smart: boolean;
  /** Prometheus retention and scrape interval. */
  readonly prometheus: PrometheusSettings;
  /** Alertmanager's receivers (email, Telegram, Slack, Discord), each off until enabled. */
  readonly alerts: AlertReceiverSettings;
}

/** The whole typed configuration of the stack. */
export interface PotatoStackConfig {
  /**
   * Which components are on unless `components.<name>.enabled` says otherwise: `board-2gb` for the
   * 2 GB Le Potato, `full` for every seed service (lib/config/profiles.ts).
   * @default 'board-2gb'
   */
  readonly profile: ProfileName;
  /** DNS suffix of every web UI (`cloud.<domain>`, `git.<domain>`, ...). @default 'potato.lan' */
  readonly domain: string;
  /** IANA time zone passed to the apps. @default 'Europe/Berlin' */
  readonly timezone: string;
  /** Disks and storage node. */
  readonly storage: StorageConfig;
  /** Address ranges. */
  readonly network: NetworkConfig;
  /** Ingress mode and TLS. */
  readonly ingress: IngressConfig;
  /** Memory model of the board. */
  readonly node: NodeModel;
  /** Monitoring zone settings. */
  readonly monitoring: MonitoringConfig;
  /** Management zone settings (Diun's schedule, Uptime Kuma's reach). */
  readonly management: ManagementConfig;
  /** Gitea's PostgreSQL server (its major version). */
  readonly postgres: PostgresConfig;
  /** Kopia's nightly snapshot job (schedule, time limit). */
  readonly kopia: KopiaConfig;
  /** Nextcloud settings. */
  readonly nextcloud: NextcloudConfig;
  /** VPN zone: provider, tunnel type, P2P apps and the cache cleanup. */
  readonly vpn: VpnConfig;
  /** Enable flag and size of every component. */
  readonly components: Readonly<Record<ComponentName, ComponentConfig>>;
  /** Exact image of every container: `repository:tag` (never `latest`). */
  readonly images: Readonly<Record<ImageName, string>>;
  /** How the output reaches the cluster from Git: the repository, Flux on the board, or an ArgoCD elsewhere (docs/gitops.md). */
  readonly gitops: GitOpsConfig;
}

/** Any part of the config may be overridden; everything else keeps its default. */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends ReadonlyArray<unknown> ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

export type PotatoStackOverrides = DeepPartial<PotatoStackConfig>;
