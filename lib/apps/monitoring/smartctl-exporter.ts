import { Construct } from 'constructs';
import { ZONES } from '../../config';
import { AppPolicy, NodeDaemonSet, PodVolume, PotatoChart, goMemLimit, httpProbe } from '../../constructs';
import { prometheusPeer, scrapeAnnotations } from './peers';

const NAMESPACE = ZONES.monitoring.namespace;
export const SMARTCTL_PORT = 9633;

/**
 * Why privileged, after trying less: reading SMART through a USB-SATA bridge sends ATA
 * PASS-THROUGH commands over SG_IO, which needs CAP_SYS_RAWIO, and first needs open() on the
 * block device. Under containerd/runc a non-privileged container's device cgroup allows only
 * the default devices (null, zero, random, tty, tun, ...): a /dev/sdX bind-mounted through a
 * BlockDevice hostPath fails with EPERM whatever capabilities are added, and Kubernetes has
 * no field to allow one more device (only a device plugin could). So SYS_RAWIO + SYS_ADMIN
 * without privileged cannot work; privileged is the smallest setting that does. Everything
 * else stays tight: no host network or PID namespace, read-only root filesystem, no volumes
 * but the listed disks, pinned to the storage node.
 */
export const SMARTCTL_PRIVILEGED_REASON =
  'SMART over USB-SATA needs open() on the raw block devices plus SG_IO ATA pass-through (CAP_SYS_RAWIO); the device cgroup of a non-privileged container denies opening block devices whatever capabilities are added, and Kubernetes offers no per-device allowance without a device plugin';

export function smartctlArgs(devices: readonly string[]): string[] {
  return [
    `--web.listen-address=:${SMARTCTL_PORT}`,
    // SMART values change slowly; polling less often keeps the disks' controllers quiet.
    '--smartctl.interval=120s',
    ...devices.map((d) => `--smartctl.device=${d}`),
  ];
}

/** smartctl-exporter for the HDDs of the storage node. */
export class SmartctlExporter extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const name = 'smartctl-exporter';
    const size = chart.size('smartctl-exporter', 'smartctl-exporter');
    const devices = config.monitoring.smartctlDevices;
    // Each disk by its path: the pod does not start when a listed disk is missing, which the
    // target-down alert then reports.
    const volumes: PodVolume[] = devices.map((device, i) => ({ name: `disk-${i}`, hostPath: device, type: 'BlockDevice' as const }));
    new NodeDaemonSet(this, 'DaemonSet', {
      name,
      namespace: NAMESPACE,
      role: 'exporter',
      nodeSelector: { 'kubernetes.io/hostname': config.storage.nodeName },
      annotations: scrapeAnnotations(SMARTCTL_PORT),
      containers: [
        {
          name,
          image: 'smartctl-exporter',
          size,
          args: smartctlArgs(devices),
          env: { GOMEMLIMIT: goMemLimit(size) },
          ports: [{ name: 'metrics', port: SMARTCTL_PORT }],
          securityException: { reason: SMARTCTL_PRIVILEGED_REASON, runAsRoot: true, privileged: true },
          mounts: devices.map((device, i) => ({ volume: `disk-${i}`, path: device, readOnly: true })),
          probes: {
            readiness: httpProbe('/', SMARTCTL_PORT),
            liveness: httpProbe('/', SMARTCTL_PORT, { periodSeconds: 30 }),
          },
        },
      ],
      volumes,
    });
    // Not on the host network: Prometheus scrapes the pod, so a policy can limit who reads it.
    // No egress at all (the zone's default-deny stays in force).
    if (chart.enabled('prometheus')) {
      new AppPolicy(this, 'Policy', {
        name: 'smartctl-exporter-flows',
        namespace: NAMESPACE,
        app: name,
        ingress: [{ peers: [prometheusPeer], ports: [{ port: SMARTCTL_PORT }] }],
      });
    }
  }
}
