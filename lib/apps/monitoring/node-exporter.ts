import { Construct } from 'constructs';
import { PotatoStackConfig, ZONES } from '../../config';
import { NodeDaemonSet, PodVolume, PotatoChart, goMemLimit, httpProbe } from '../../constructs';
import { SMART_TEXTFILE_DIR, smartEnabled } from '../../host/smart';

const NAMESPACE = ZONES.monitoring.namespace;
export const NODE_EXPORTER_PORT = 9100;

/**
 * Collectors the dashboards and alert rules read. Everything else is off
 * (`--collector.disable-defaults`): each default collector costs memory and a scrape's CPU on
 * the board, and many (arp, bonding, infiniband, nfs, zfs, ipvs, xfs, ...) find nothing here.
 */
export const NODE_EXPORTER_COLLECTORS = [
  'cpu', // CPU busy and modes
  'meminfo', // memory used against the budget
  'loadavg',
  'pressure', // PSI: memory/IO stalls explain slowness on 2 GB
  'filesystem', // disk space of / and the HDDs
  'diskstats', // HDD busy time
  'netdev', // host interfaces (hostNetwork)
  'stat', // boot time, context switches
  'time',
  'uname',
  'vmstat', // OOM kills, swapping
  'thermal_zone', // SoC temperature
] as const;
// The textfile collector joins them while SMART data is on (monitoring.smart).

/**
 * Mount points never worth a series: pseudo file systems and the per-pod mounts of kubelet,
 * k3s and containerd. `/`, the HDD mount points and anything else under /mnt stay in.
 */
export const MOUNT_POINTS_EXCLUDE = '^/(dev|proc|run|sys|var/lib/kubelet/.+|var/lib/rancher/.+|run/k3s/.+)($|/)';
/**
 * Block devices whose I/O statistics are dropped: partitions (the whole disk already counts
 * their I/O), loop, RAM and zram devices, device-mapper and md layers, floppies and optical
 * drives. What stays is the whole disks: the SD card (mmcblkN) and the USB HDDs (sdX).
 *
 * An exclude pattern, not `--collector.diskstats.device-include`: node-exporter 1.9 refuses
 * include next to exclude, and exclude always has a non-empty default, so an include alone
 * stops the program at start ("device-exclude & device-include are mutually exclusive").
 * Setting this flag replaces that default.
 */
export const DISKSTATS_DEVICE_EXCLUDE = '^(z?ram[0-9]+|loop[0-9]+|fd[0-9]+|sr[0-9]+|dm-[0-9]+|md[0-9]+|(h|s|v|xv)d[a-z]+[0-9]+|mmcblk[0-9]+(p[0-9]+|boot[0-9]+|rpmb)|nvme[0-9]+n[0-9]+p[0-9]+)$';
const FS_TYPES_EXCLUDE = '^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tmpfs|tracefs)$';

/**
 * Where the container sees the host's textfile directory (SMART data written by the host's
 * smartmontools timer, lib/host/smart.ts), mounted read-only on its own.
 */
export const TEXTFILE_MOUNT = '/host/textfile';

/** Flags; the HDD mount points must survive the exclude pattern, or the disk alerts go blind. */
export function nodeExporterArgs(config: PotatoStackConfig): string[] {
  for (const mount of [config.storage.mainPath, config.storage.cachePath]) {
    if (new RegExp(MOUNT_POINTS_EXCLUDE).test(mount)) throw new Error(`node-exporter would ignore the HDD mount point ${mount}`);
  }
  return [
    `--web.listen-address=:${NODE_EXPORTER_PORT}`,
    '--path.procfs=/host/proc',
    '--path.sysfs=/host/sys',
    '--path.rootfs=/host/root',
    '--collector.disable-defaults',
    ...NODE_EXPORTER_COLLECTORS.map((c) => `--collector.${c}`),
    `--collector.filesystem.mount-points-exclude=${MOUNT_POINTS_EXCLUDE}`,
    `--collector.filesystem.fs-types-exclude=${FS_TYPES_EXCLUDE}`,
    `--collector.diskstats.device-exclude=${DISKSTATS_DEVICE_EXCLUDE}`,
    '--collector.netdev.device-exclude=^(veth.*|cni.*|flannel.*|lo)$',
    ...(smartEnabled(config) ? ['--collector.textfile', `--collector.textfile.directory=${TEXTFILE_MOUNT}`] : []),
  ];
}

/**
 * node-exporter on every node: host network (real interface counters, reachable on the node
 * address :9100) and host PID namespace (process counts), host /proc, /sys and / read-only.
 */
export class NodeExporter extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const name = 'node-exporter';
    const size = chart.size('node-exporter', 'node-exporter');
    const smart = smartEnabled(chart.config);
    const volumes: PodVolume[] = [
      { name: 'proc', hostPath: '/proc', type: 'Directory' },
      { name: 'sys', hostPath: '/sys', type: 'Directory' },
      { name: 'root', hostPath: '/', type: 'Directory' },
      // Created empty on a node without the SMART timer (an added agent), so the collector finds
      // an empty folder there instead of reporting a read error at every scrape.
      ...(smart ? [{ name: 'textfile', hostPath: SMART_TEXTFILE_DIR, type: 'DirectoryOrCreate' as const }] : []),
    ];
    new NodeDaemonSet(this, 'DaemonSet', {
      name,
      namespace: NAMESPACE,
      role: 'exporter',
      runAs: { uid: 65534, gid: 65534 },
      hostNetwork: true,
      hostPID: true,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name,
          image: 'node-exporter',
          size,
          args: nodeExporterArgs(chart.config),
          env: { GOMEMLIMIT: goMemLimit(size) },
          ports: [{ name: 'metrics', port: NODE_EXPORTER_PORT }],
          // The container itself keeps the hardened context (non-root, no capabilities, read-only);
          // the exception is the pod's host namespaces, which this annotation explains.
          securityException: {
            reason:
              "uses the host's network namespace (node interface counters; scraped at the node address :9100, outside NetworkPolicy) and PID namespace, and reads the host's /proc, /sys and / read-only",
          },
          mounts: [
            { volume: 'proc', path: '/host/proc', readOnly: true },
            { volume: 'sys', path: '/host/sys', readOnly: true },
            // HostToContainer: an HDD mounted after the pod started still shows up for the filesystem collector.
            { volume: 'root', path: '/host/root', readOnly: true, mountPropagation: 'HostToContainer' },
            ...(smart ? [{ volume: 'textfile', path: TEXTFILE_MOUNT, readOnly: true }] : []),
          ],
          probes: {
            readiness: httpProbe('/', NODE_EXPORTER_PORT),
            liveness: httpProbe('/', NODE_EXPORTER_PORT, { periodSeconds: 30 }),
          },
        },
      ],
      volumes,
    });
  }
}
