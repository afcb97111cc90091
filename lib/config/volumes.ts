import type { ComponentName } from './components';
import type { PotatoStackConfig } from './types';
import type { ZoneName } from './zones';

/** Which USB disk a volume lives on. */
export type Disk = 'main' | 'cache';

/** The storage class of each disk's static PVs. */
export const STORAGE_CLASSES: Readonly<Record<Disk, string>> = { main: 'hdd-main', cache: 'hdd-cache' };

/**
 * One folder on an HDD, exposed as a hostPath PV bound one-to-one to a claim of the same
 * name. The owner is the UID/GID the app runs as: the host preparation script creates the
 * folder with it, and the workload runs as it, so nothing chowns at start.
 */
export interface VolumeSpec {
  /** PV and PVC name. */
  readonly name: string;
  /** Component that mounts it; the volume exists only while the component is enabled. */
  readonly component: ComponentName;
  /** Namespace zone of the claim. */
  readonly zone: ZoneName;
  readonly disk: Disk;
  /** Folder relative to the disk's mount point, following the seed's data layout ('' is the disk itself). */
  readonly folder: string;
  /** Nominal capacity; hostPath does not enforce it, the PV alerts use it. */
  readonly capacity: string;
  /** UID and GID of the folder and of the process writing to it. */
  readonly uid: number;
  readonly gid: number;
  /** Octal folder mode. */
  readonly mode: string;
  /** Mounted read-only by its consumer (ReadOnlyMany); the host script never touches its owner. */
  readonly readOnly?: boolean;
  /** A setting of its component that must also be on (beyond the component's `enabled`). @default always with its component */
  readonly enabledWhen?: (config: PotatoStackConfig) => boolean;
}

export const VOLUMES: readonly VolumeSpec[] = [
  { name: 'nextcloud-data', component: 'nextcloud', zone: 'apps', disk: 'main', folder: 'nextcloud', capacity: '200Gi', uid: 33, gid: 33, mode: '0750' },
  { name: 'mariadb-data', component: 'mariadb', zone: 'data', disk: 'main', folder: 'databases/mariadb', capacity: '10Gi', uid: 999, gid: 999, mode: '0700' },
  { name: 'gitea-data', component: 'gitea', zone: 'apps', disk: 'main', folder: 'gitea', capacity: '20Gi', uid: 1000, gid: 1000, mode: '0750' },
  { name: 'postgres-data', component: 'postgres', zone: 'data', disk: 'main', folder: 'databases/postgres', capacity: '10Gi', uid: 70, gid: 70, mode: '0700' },
  // Kopia runs as root (with DAC_OVERRIDE only) to read every app's folder; it owns its repository and cache.
  { name: 'kopia-repository', component: 'kopia', zone: 'apps', disk: 'main', folder: 'kopia/repository', capacity: '150Gi', uid: 0, gid: 0, mode: '0700' },
  { name: 'kopia-cache', component: 'kopia', zone: 'apps', disk: 'main', folder: 'kopia/cache', capacity: '10Gi', uid: 0, gid: 0, mode: '0700' },
  // Kopia backs up the other apps' folders: a claim cannot cross namespaces, so it gets its own
  // read-only PV of the whole disk.
  { name: 'kopia-sources', component: 'kopia', zone: 'apps', disk: 'main', folder: '', capacity: '500Gi', uid: 0, gid: 0, mode: '0755', readOnly: true },
  // Database dumps written before each snapshot (and snapshotted with the disk): an unprivileged
  // UID of their own (DUMP_UID in lib/apps/backup), so neither database image's user owns them.
  { name: 'database-dumps', component: 'kopia', zone: 'apps', disk: 'main', folder: 'backups/databases', capacity: '20Gi', uid: 65532, gid: 65532, mode: '0750' },
  // The second copy of the repository, on the other disk (kopia repository sync-to).
  {
    name: 'kopia-copy',
    component: 'kopia',
    zone: 'apps',
    disk: 'cache',
    folder: 'kopia/repository-copy',
    capacity: '150Gi',
    uid: 0,
    gid: 0,
    mode: '0700',
    enabledWhen: (config) => config.kopia.copy.enabled,
  },
  { name: 'uptime-kuma-data', component: 'uptime-kuma', zone: 'management', disk: 'main', folder: 'uptime-kuma', capacity: '2Gi', uid: 1000, gid: 1000, mode: '0750' },
  { name: 'portainer-data', component: 'portainer', zone: 'management', disk: 'main', folder: 'portainer', capacity: '1Gi', uid: 0, gid: 0, mode: '0700' },
  { name: 'prometheus-data', component: 'prometheus', zone: 'monitoring', disk: 'main', folder: 'monitoring/prometheus', capacity: '20Gi', uid: 65534, gid: 65534, mode: '0750' },
  { name: 'alertmanager-data', component: 'alertmanager', zone: 'monitoring', disk: 'main', folder: 'monitoring/alertmanager', capacity: '1Gi', uid: 65534, gid: 65534, mode: '0750' },
  { name: 'grafana-data', component: 'grafana', zone: 'monitoring', disk: 'main', folder: 'monitoring/grafana', capacity: '2Gi', uid: 472, gid: 472, mode: '0750' },
  { name: 'loki-data', component: 'loki', zone: 'monitoring', disk: 'main', folder: 'monitoring/loki', capacity: '20Gi', uid: 10001, gid: 10001, mode: '0750' },
  { name: 'nginx-proxy-manager-data', component: 'nginx-proxy-manager', zone: 'dmz', disk: 'main', folder: 'nginx-proxy-manager', capacity: '1Gi', uid: 0, gid: 0, mode: '0700' },
  { name: 'qbittorrent-config', component: 'vpn', zone: 'vpn', disk: 'main', folder: 'qbittorrent', capacity: '1Gi', uid: 1000, gid: 1000, mode: '0750' },
  { name: 'slskd-data', component: 'slskd', zone: 'vpn', disk: 'main', folder: 'slskd', capacity: '1Gi', uid: 1000, gid: 1000, mode: '0750' },
  { name: 'torrents', component: 'vpn', zone: 'vpn', disk: 'cache', folder: 'torrents', capacity: '150Gi', uid: 1000, gid: 1000, mode: '0775' },
  { name: 'soulseek', component: 'slskd', zone: 'vpn', disk: 'cache', folder: 'soulseek', capacity: '80Gi', uid: 1000, gid: 1000, mode: '0775' },
];

/** Absolute host path of a layout volume under the configured disk mount points. */
export function hostPathOf(spec: VolumeSpec, storage: { readonly mainPath: string; readonly cachePath: string }): string {
  const root = spec.disk === 'main' ? storage.mainPath : storage.cachePath;
  return spec.folder ? `${root}/${spec.folder}` : root;
}

/** The layout volumes the config uses: of enabled components, with their extra setting on. */
export function enabledVolumes(config: PotatoStackConfig): VolumeSpec[] {
  return VOLUMES.filter((v) => config.components[v.component].enabled && (v.enabledWhen?.(config) ?? true));
}

/** The volume of a given name; throws for a name that is not in the layout. */
export function volumeSpec(name: string): VolumeSpec {
  const spec = VOLUMES.find((v) => v.name === name);
  if (!spec) throw new Error(`unknown volume '${name}'; known: ${VOLUMES.map((v) => v.name).join(', ')}`);
  return spec;
}
