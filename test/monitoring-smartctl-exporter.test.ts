import { App } from 'cdk8s';
import { PotatoStackOverrides } from '../lib/config';
import { PotatoChart, SECURITY_EXCEPTION_ANNOTATION } from '../lib/constructs';
import { SmartctlExporter } from '../lib/apps/monitoring/smartctl-exporter';
import { Manifest, find, fullConfig } from './helpers';

function synth(overrides: PotatoStackOverrides = {}): Manifest[] {
  const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', fullConfig(overrides));
  new SmartctlExporter(chart, 'smartctl');
  return chart.toJson() as Manifest[];
}

const objects = synth();
const ds = find(objects, 'DaemonSet', 'smartctl-exporter', 'monitoring');
const pod = ds.spec.template.spec;
const container = pod.containers[0];

test('reads the configured devices, each mounted as a BlockDevice host path', () => {
  expect(container.args.filter((a: string) => a.startsWith('--smartctl.device='))).toEqual(['--smartctl.device=/dev/sda', '--smartctl.device=/dev/sdb']);
  expect(pod.volumes).toEqual([
    { name: 'disk-0', hostPath: { path: '/dev/sda', type: 'BlockDevice' } },
    { name: 'disk-1', hostPath: { path: '/dev/sdb', type: 'BlockDevice' } },
  ]);
  const byId = '/dev/disk/by-id/usb-WD_Elements_1234-0:0';
  const other = find(synth({ monitoring: { smartctlDevices: [byId] } }), 'DaemonSet', 'smartctl-exporter').spec.template.spec;
  expect(other.volumes).toEqual([{ name: 'disk-0', hostPath: { path: byId, type: 'BlockDevice' } }]);
  expect(other.containers[0].args).toContain(`--smartctl.device=${byId}`);
});

test('pinned to the storage node', () => {
  expect(pod.nodeSelector).toEqual({ 'kubernetes.io/hostname': 'potato' });
  expect(find(synth({ storage: { nodeName: 'lepotato' } }), 'DaemonSet', 'smartctl-exporter').spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/hostname': 'lepotato' });
});

test('privileged only with the documented reason; nothing else loosened', () => {
  expect(container.securityContext.privileged).toBe(true);
  const reason = ds.spec.template.metadata.annotations[`${SECURITY_EXCEPTION_ANNOTATION}.smartctl-exporter`];
  expect(reason).toMatch(/device cgroup/);
  expect(reason).toMatch(/SYS_RAWIO/);
  expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  expect(pod.hostNetwork).toBeUndefined();
  expect(pod.hostPID).toBeUndefined();
  expect(pod.automountServiceAccountToken).toBe(false);
  for (const m of container.volumeMounts) expect([m.name, m.readOnly]).toEqual([m.name, true]);
});

test('serves 9633 to Prometheus only', () => {
  expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9633, protocol: 'TCP' }]);
  const policy = find(objects, 'NetworkPolicy', 'smartctl-exporter-flows', 'monitoring');
  expect(policy.spec.policyTypes).toEqual(['Ingress']);
  expect(policy.spec.ingress).toEqual([
    { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }], ports: [{ port: 9633, protocol: 'TCP' }] },
  ]);
});

test('device list validation names the prop and the value', () => {
  expect(() => fullConfig({ monitoring: { smartctlDevices: [] } })).toThrow('monitoring.smartctlDevices: [] is not allowed');
  expect(() => fullConfig({ monitoring: { smartctlDevices: ['sda'] } })).toThrow("monitoring.smartctlDevices[0]: 'sda' is not allowed");
  expect(() => fullConfig({ monitoring: { smartctlDevices: ['/dev/../etc/passwd'] } })).toThrow('monitoring.smartctlDevices[0]');
  expect(() => fullConfig({ monitoring: { smartctlDevices: ['/dev/sda', '/dev/sda'] } })).toThrow("monitoring.smartctlDevices[1]: '/dev/sda' is not allowed; expected each device listed once");
});
