import { App } from 'cdk8s';
import { PotatoStackOverrides } from '../lib/config';
import { PotatoChart, SECURITY_EXCEPTION_ANNOTATION } from '../lib/constructs';
import { DISKSTATS_DEVICE_EXCLUDE, MOUNT_POINTS_EXCLUDE, NODE_EXPORTER_COLLECTORS, NodeExporter, TEXTFILE_MOUNT, nodeExporterArgs } from '../lib/apps/monitoring/node-exporter';
import { SMART_TEXTFILE_DIR } from '../lib/host/smart';
import { Manifest, find, fullConfig } from './helpers';

function synth(overrides: PotatoStackOverrides = {}): Manifest[] {
  const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', fullConfig(overrides));
  new NodeExporter(chart, 'node-exporter');
  return chart.toJson() as Manifest[];
}

const ds = find(synth(), 'DaemonSet', 'node-exporter', 'monitoring');
const pod = ds.spec.template.spec;
const container = pod.containers[0];

test('host network and PID namespace, with the exception explained on the pod', () => {
  expect(pod.hostNetwork).toBe(true);
  expect(pod.hostPID).toBe(true);
  const reason = ds.spec.template.metadata.annotations[`${SECURITY_EXCEPTION_ANNOTATION}.node-exporter`];
  expect(reason).toMatch(/network namespace/);
  expect(reason).toMatch(/PID namespace/);
});

test('the container itself stays non-root, capability-free and read-only', () => {
  expect(container.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  expect(container.securityContext.privileged).toBeUndefined();
  expect(pod.securityContext).toMatchObject({ runAsUser: 65534 });
  expect(pod.automountServiceAccountToken).toBe(false);
});

test('host /proc, /sys, / and the textfile folder mounted read-only; / propagates later HDD mounts', () => {
  expect(pod.volumes).toEqual([
    { name: 'proc', hostPath: { path: '/proc', type: 'Directory' } },
    { name: 'sys', hostPath: { path: '/sys', type: 'Directory' } },
    { name: 'root', hostPath: { path: '/', type: 'Directory' } },
    { name: 'textfile', hostPath: { path: SMART_TEXTFILE_DIR, type: 'DirectoryOrCreate' } },
  ]);
  for (const m of container.volumeMounts) expect([m.name, m.readOnly]).toEqual([m.name, true]);
  expect(container.volumeMounts.find((m: any) => m.name === 'root')).toMatchObject({ mountPath: '/host/root', mountPropagation: 'HostToContainer' });
  expect(container.args).toEqual(expect.arrayContaining(['--path.procfs=/host/proc', '--path.sysfs=/host/sys', '--path.rootfs=/host/root']));
});

test('default collectors off, only the listed ones on', () => {
  const args: string[] = container.args;
  expect(args).toContain('--collector.disable-defaults');
  const enabled = args.filter((a) => /^--collector\.[a-z_]+$/.test(a) && a !== '--collector.disable-defaults').map((a) => a.replace('--collector.', ''));
  expect(enabled.sort()).toEqual([...NODE_EXPORTER_COLLECTORS, 'textfile'].sort());
  for (const heavy of ['systemd', 'processes', 'arp', 'ipvs', 'netclass', 'btrfs', 'zfs']) expect(enabled).not.toContain(heavy);
  expect(enabled).toEqual(expect.arrayContaining(['filesystem', 'meminfo', 'cpu', 'diskstats']));
});

test('the HDD mount points and / pass the mount point filter; kubelet and container mounts do not', () => {
  const exclude = new RegExp(MOUNT_POINTS_EXCLUDE);
  const config = fullConfig();
  for (const kept of ['/', config.storage.mainPath, config.storage.cachePath]) expect([kept, exclude.test(kept)]).toEqual([kept, false]);
  for (const dropped of ['/var/lib/kubelet/pods/x/volumes/y', '/run/k3s/containerd/io.containerd.x', '/var/lib/rancher/k3s/agent/containerd/z', '/proc', '/sys/fs/cgroup', '/dev/shm']) {
    expect([dropped, exclude.test(dropped)]).toEqual([dropped, true]);
  }
  expect(nodeExporterArgs(config)).toContain(`--collector.filesystem.mount-points-exclude=${MOUNT_POINTS_EXCLUDE}`);
});

test('listens on 9100 and probes it', () => {
  expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }]);
  expect(container.args).toContain('--web.listen-address=:9100');
  expect(container.readinessProbe.httpGet.port).toBe(9100);
  expect(container.livenessProbe.httpGet.port).toBe(9100);
});

test('disk statistics keep the whole disks (SD card, USB HDDs) and drop partitions and virtual devices', () => {
  const exclude = new RegExp(DISKSTATS_DEVICE_EXCLUDE);
  for (const kept of ['sda', 'sdb', 'sdaa', 'mmcblk0', 'mmcblk1', 'vda', 'nvme0n1']) expect([kept, exclude.test(kept)]).toEqual([kept, false]);
  for (const dropped of ['sda1', 'sdb12', 'mmcblk0p1', 'mmcblk1p2', 'mmcblk0boot0', 'mmcblk0rpmb', 'loop0', 'zram0', 'ram3', 'dm-0', 'md127', 'sr0', 'fd0', 'vda1', 'nvme0n1p1']) {
    expect([dropped, exclude.test(dropped)]).toEqual([dropped, true]);
  }
  expect(container.args).toContain(`--collector.diskstats.device-exclude=${DISKSTATS_DEVICE_EXCLUDE}`);
});

test('no collector gets both an include and an exclude filter (node-exporter refuses the pair at start)', () => {
  const args: string[] = container.args;
  const filtered = (kind: 'include' | 'exclude') => args.map((a) => new RegExp(`^--collector\\.([a-z_]+)\\.[a-z-]*${kind}=`).exec(a)?.[1]).filter(Boolean);
  const both = filtered('include').filter((c) => filtered('exclude').includes(c));
  expect(both).toEqual([]);
  // diskstats' exclude flag has a non-empty default, so even an include alone would clash.
  expect(args.some((a) => a.startsWith('--collector.diskstats.device-include'))).toBe(false);
});

describe('SMART data through the textfile collector (monitoring.smart)', () => {
  test('reads the folder the host timer writes, mounted on its own', () => {
    expect(container.args).toEqual(expect.arrayContaining(['--collector.textfile', `--collector.textfile.directory=${TEXTFILE_MOUNT}`]));
    expect(container.volumeMounts).toContainEqual({ name: 'textfile', mountPath: TEXTFILE_MOUNT, readOnly: true });
  });

  test.each([
    ['monitoring.smart off', { monitoring: { smart: false } }],
  ])('%s: no textfile collector, no folder', (_name, overrides) => {
    const other = find(synth(overrides), 'DaemonSet', 'node-exporter').spec.template.spec;
    expect(other.containers[0].args.filter((a: string) => a.startsWith('--collector.textfile'))).toEqual([]);
    expect(other.volumes.map((v: any) => v.name)).toEqual(['proc', 'sys', 'root']);
  });
});
