import { App } from 'cdk8s';

import { PotatoChart, SECURITY_EXCEPTION_ANNOTATION } from '../lib/constructs';
import { APP_FROM_POD_REGEX, FluentBit, LOG_LABELS, POD_PATH_REGEX, fluentBitConfig } from '../lib/apps/monitoring/fluent-bit';
import { dashboards, expressionsOf } from '../lib/apps/monitoring/dashboards';
import { Manifest, find, fullConfig } from './helpers';

const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', fullConfig());
new FluentBit(chart, 'fluent-bit');
const objects = chart.toJson() as Manifest[];
const ds = find(objects, 'DaemonSet', 'fluent-bit', 'monitoring');
const pod = ds.spec.template.spec;
const container = pod.containers[0];
const conf = find(objects, 'ConfigMap', 'fluent-bit-config').data as Record<string, string>;

/** `Key value` settings of one [SECTION] block (the n-th of its kind). */
function section(text: string, name: string, n = 0): Record<string, string> {
  const blocks = text.split(/^\[/m).filter((b) => b.startsWith(`${name}]`));
  return Object.fromEntries(
    blocks[n]
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => [l.split(/\s+/)[0], l.replace(/^\S+\s+/, '')]),
  );
}

test('tails every pod log on the node with the CRI parser and bounded memory', () => {
  const input = section(conf['fluent-bit.conf'], 'INPUT');
  expect(input).toMatchObject({ Name: 'tail', Path: '/var/log/pods/*/*/*.log', 'multiline.parser': 'cri', Path_Key: 'filename' });
  expect(parseInt(input.Mem_Buf_Limit, 10)).toBeLessThanOrEqual(8);
  expect(input.DB.startsWith('/fluent-bit/state/')).toBe(true);
});

test('ships to Loki with namespace, pod, container and app labels and the bare line', () => {
  const output = section(conf['fluent-bit.conf'], 'OUTPUT');
  expect(output).toMatchObject({ Name: 'loki', Host: 'loki.monitoring.svc', Port: '3100', Drop_Single_Key: 'raw' });
  expect(output.Labels).toBe('job=fluent-bit, namespace=$namespace, pod=$pod, container=$container, app=$app');
  const removed = output.Remove_Keys.split(/,\s*/);
  for (const key of [...LOG_LABELS, 'filename', 'pod_uid', 'stream', '_p']) expect([key, removed.includes(key)]).toEqual([key, true]);
});

test('the path regex yields namespace, pod and container', () => {
  const m = new RegExp(POD_PATH_REGEX).exec('/var/log/pods/apps_nextcloud-7d9f8b6c5d-x2x4z_0b6c1c3e-1111-2222-3333-444455556666/nextcloud/0.log');
  expect(m?.groups).toEqual({ namespace: 'apps', pod: 'nextcloud-7d9f8b6c5d-x2x4z', pod_uid: '0b6c1c3e-1111-2222-3333-444455556666', container: 'nextcloud' });
  expect(conf['parsers.conf']).toContain(`Regex  ${POD_PATH_REGEX}`);
  expect(conf['parsers.conf']).toContain(`Regex  ${APP_FROM_POD_REGEX}`);
});

test.each([
  ['nextcloud-7d9f8b6c5d-x2x4z', 'nextcloud'], // Deployment
  ['gitea-postgres-6b7c9d8f4-bcdfg', 'gitea-postgres'],
  ['node-exporter-k2x9z', 'node-exporter'], // DaemonSet
  ['smartctl-exporter-w4v7q', 'smartctl-exporter'],
  ['nextcloud-cron-29012345-bcx2d', 'nextcloud-cron'], // CronJob
  ['mariadb-0', 'mariadb-0'], // no suffix to strip
  ['coredns', 'coredns'],
])('app of pod %s is %s', (podName, app) => {
  expect(new RegExp(APP_FROM_POD_REGEX).exec(podName)?.groups?.app).toBe(app);
});

test('the Loki queries of the dashboards only use labels the shipper sets', () => {
  const labels = expressionsOf(dashboards(fullConfig())['vpn.json'])
    .concat(expressionsOf(dashboards(fullConfig())['backups.json']))
    .filter((e) => e.startsWith('{'))
    .flatMap((e) => [...e.matchAll(/([a-z_]+)=~?"/g)].map((m) => m[1]));
  expect(labels.length).toBeGreaterThan(0);
  for (const l of labels) expect([l, (LOG_LABELS as readonly string[]).includes(l) || l === 'job']).toEqual([l, true]);
});

test('HTTP server with health checks on 2020; probes on its endpoints', () => {
  const service = section(fluentBitConfig(), 'SERVICE');
  expect(service).toMatchObject({ HTTP_Server: 'On', HTTP_Port: '2020', Health_Check: 'On' });
  expect(container.readinessProbe.httpGet).toMatchObject({ path: '/api/v1/health', port: 'http' });
  expect(container.livenessProbe.httpGet.path).toBe('/api/v1/uptime');
  expect(container.ports).toEqual([{ name: 'http', containerPort: 2020, protocol: 'TCP' }]);
});

test('reads /var/log/pods read-only as root without capabilities, with a stated reason, no API token', () => {
  expect(pod.volumes).toContainEqual({ name: 'pod-logs', hostPath: { path: '/var/log/pods', type: 'Directory' } });
  expect(container.volumeMounts).toContainEqual({ name: 'pod-logs', mountPath: '/var/log/pods', readOnly: true });
  expect(container.securityContext).toMatchObject({ runAsUser: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  expect(container.securityContext.privileged).toBeUndefined();
  expect(ds.spec.template.metadata.annotations[`${SECURITY_EXCEPTION_ANNOTATION}.fluent-bit`]).toMatch(/\/var\/log\/pods/);
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.hostNetwork).toBeUndefined();
});

test('policy: out to Loki:3100 only, in from Prometheus on 2020 only', () => {
  const policy = find(objects, 'NetworkPolicy', 'fluent-bit-flows', 'monitoring');
  expect(policy.spec.egress).toEqual([
    { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'loki' } } }], ports: [{ port: 3100, protocol: 'TCP' }] },
  ]);
  expect(policy.spec.ingress).toEqual([
    { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }], ports: [{ port: 2020, protocol: 'TCP' }] },
  ]);
});
