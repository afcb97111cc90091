import { App } from 'cdk8s';
import { PotatoStackOverrides } from '../lib/config';
import { PotatoChart } from '../lib/constructs';
import { KSM_METRIC_FAMILIES, KubeStateMetrics } from '../lib/apps/monitoring/kube-state-metrics';
import { dashboards, expressionsOf } from '../lib/apps/monitoring/dashboards';
import { renderAlertRules } from '../lib/apps/monitoring/rules';
import { Manifest, find, fullConfig } from './helpers';

function synth(overrides: PotatoStackOverrides = {}): Manifest[] {
  const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', fullConfig(overrides));
  new KubeStateMetrics(chart, 'ksm');
  return chart.toJson() as Manifest[];
}

const objects = synth();
const deployment = find(objects, 'Deployment', 'kube-state-metrics', 'monitoring');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const arg = (flag: string) => (container.args as string[]).find((a) => a.startsWith(`--${flag}=`))?.split('=')[1];

test('watches exactly the resources the rules and dashboards need', () => {
  expect(arg('resources')).toBe('pods,nodes,persistentvolumeclaims,persistentvolumes,namespaces,deployments,daemonsets,cronjobs,jobs');
});

test('exports only the allow-listed families, and the dashboards and alert rules use no other kube_* family', () => {
  expect(arg('metric-allowlist')?.split(',')).toEqual(KSM_METRIC_FAMILIES.map((f) => `^${f}$`));
  const config = fullConfig();
  const texts = [...Object.values(dashboards(config)).flatMap((d) => expressionsOf(d)), renderAlertRules(config)];
  // Families the rules build from a prefix (`${prefix}_status_restarts_total`) appear whole in the rendered file.
  const used = new Set(texts.flatMap((e) => (e.match(/\bkube_[a-z_]+/g) ?? []).filter((m) => !/_$/.test(m))));
  expect(used.size).toBeGreaterThan(5);
  for (const family of used) expect([family, (KSM_METRIC_FAMILIES as readonly string[]).includes(family)]).toEqual([family, true]);
});

test('every allowlist entry matches exactly its family (kube-state-metrics reads entries as unanchored regexes)', () => {
  const entries = arg('metric-allowlist')!.split(',').map((e) => new RegExp(e));
  for (const family of KSM_METRIC_FAMILIES) {
    expect([family, entries.filter((e) => e.test(family)).length]).toEqual([family, 1]);
    // A longer name with the family as prefix (kube_pod_status_ready -> kube_pod_status_ready_time) stays out.
    expect([`${family}_time`, entries.some((e) => e.test(`${family}_time`))]).toEqual([`${family}_time`, false]);
  }
});

test('ClusterRole: list and watch on exactly those resources, nothing else', () => {
  const role = find(objects, 'ClusterRole', 'kube-state-metrics');
  expect(role.metadata.namespace).toBeUndefined();
  expect(role.rules).toEqual([
    { apiGroups: [''], resources: ['pods', 'nodes', 'persistentvolumeclaims', 'persistentvolumes', 'namespaces'], verbs: ['list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments', 'daemonsets'], verbs: ['list', 'watch'] },
    { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ['list', 'watch'] },
  ]);
  const binding = find(objects, 'ClusterRoleBinding', 'kube-state-metrics');
  expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kube-state-metrics' });
  expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'kube-state-metrics', namespace: 'monitoring' }]);
  expect(pod.serviceAccountName).toBe('kube-state-metrics');
  expect(pod.automountServiceAccountToken).toBe(true);
});

test('metrics on 8080, telemetry on 8081, probes /livez and /readyz, non-root', () => {
  expect(container.ports.map((p: any) => [p.name, p.containerPort])).toEqual([['metrics', 8080], ['telemetry', 8081]]);
  expect(container.livenessProbe.httpGet).toMatchObject({ path: '/livez', port: 'metrics' });
  expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'telemetry' });
  expect(pod.securityContext).toMatchObject({ runAsUser: 65534 });
  expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
});

test('policy: egress to the API server only (kubernetes Service IP 443, node range on the API port), ingress from Prometheus', () => {
  const policy = find(objects, 'NetworkPolicy', 'kube-state-metrics-flows', 'monitoring');
  expect(policy.spec.egress).toEqual([
    { to: [{ ipBlock: { cidr: '10.43.0.1/32' } }], ports: [{ port: 443, protocol: 'TCP' }] },
    { to: [{ ipBlock: { cidr: '192.168.178.0/24' } }], ports: [{ port: 6443, protocol: 'TCP' }] },
  ]);
  const custom = find(synth({ network: { nodeCidr: '10.0.0.0/24', apiServerPort: 16443 } }), 'NetworkPolicy', 'kube-state-metrics-flows');
  expect(custom.spec.egress[1]).toEqual({ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 16443, protocol: 'TCP' }] });
  expect(policy.spec.ingress).toEqual([
    {
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ port: 8080, protocol: 'TCP' }, { port: 8081, protocol: 'TCP' }],
    },
  ]);
});
