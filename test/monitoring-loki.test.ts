import { App } from 'cdk8s';
import { parse } from 'yaml';
import { PotatoStackOverrides } from '../lib/config';
import { PotatoChart } from '../lib/constructs';
import { Loki, LokiProps, lokiConfig } from '../lib/apps/monitoring/loki';
import { Manifest, find, fullConfig } from './helpers';

function synth(overrides: PotatoStackOverrides = {}, props: LokiProps = {}): Manifest[] {
  const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', fullConfig(overrides));
  new Loki(chart, 'loki', props);
  return chart.toJson() as Manifest[];
}

const objects = synth({}, { ruleFiles: { 'failed-logins.yaml': 'groups: []\n' } });
const deployment = find(objects, 'Deployment', 'loki', 'monitoring');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const rendered = parse(find(objects, 'ConfigMap', 'loki-config', 'monitoring').data['loki.yaml']);
const mountOf = (volume: string) => container.volumeMounts.find((m: any) => m.name === volume);

test('the container runs the rendered config file it mounts', () => {
  expect(container.args).toContain('-config.file=/etc/loki/config/loki.yaml');
  expect(mountOf('config').mountPath).toBe('/etc/loki/config');
  expect(rendered).toEqual(lokiConfig(fullConfig()));
});

test('filesystem storage with the TSDB index, schema v13, everything under the loki-data claim', () => {
  expect(rendered.schema_config.configs).toEqual([expect.objectContaining({ store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } })]);
  expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'loki-data' } });
  const data = mountOf('data').mountPath;
  const paths = [
    rendered.common.path_prefix,
    rendered.common.storage.filesystem.chunks_directory,
    rendered.storage_config.tsdb_shipper.active_index_directory,
    rendered.storage_config.tsdb_shipper.cache_location,
    rendered.compactor.working_directory,
    rendered.ingester.wal.dir,
    rendered.ruler.rule_path,
  ];
  for (const p of paths) expect([p, p === data || p.startsWith(`${data}/`)]).toEqual([p, true]);
  expect(pod.securityContext).toMatchObject({ runAsUser: 10001, runAsGroup: 10001 });
});

test('30-day retention enforced by the compactor, following the prop', () => {
  expect(rendered.limits_config.retention_period).toBe('30d');
  expect(rendered.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
  expect(lokiConfig(fullConfig({ monitoring: { lokiRetention: '14d' } })).limits_config).toMatchObject({ retention_period: '14d' });
});

test('lokiRetention must be whole days', () => {
  for (const bad of ['12h', '36h', '30 days', '1m']) {
    expect(() => fullConfig({ monitoring: { lokiRetention: bad } })).toThrow(`monitoring.lokiRetention: '${bad}' is not allowed`);
  }
  expect(() => fullConfig({ monitoring: { lokiRetention: '720h' } })).not.toThrow();
});

test('ruler reads the rule files from the ConfigMap under the no-auth tenant and alerts Alertmanager', () => {
  expect(rendered.auth_enabled).toBe(false);
  expect(rendered.ruler.storage).toEqual({ type: 'local', local: { directory: '/etc/loki/rules' } });
  expect(mountOf('rules')).toEqual({ name: 'rules', mountPath: '/etc/loki/rules/fake', readOnly: true });
  expect(pod.volumes).toContainEqual({ name: 'rules', configMap: { name: 'loki-rules' } });
  expect(find(objects, 'ConfigMap', 'loki-rules').data).toEqual({ 'failed-logins.yaml': 'groups: []\n' });
  expect(rendered.ruler.alertmanager_url).toBe('http://alertmanager.monitoring.svc:9093');
});

test('limits and caches sized for the board, not upstream defaults', () => {
  expect(rendered.limits_config.max_query_parallelism).toBeLessThanOrEqual(2);
  expect(rendered.limits_config.tsdb_max_query_parallelism).toBeLessThanOrEqual(2);
  expect(rendered.querier.max_concurrent).toBeLessThanOrEqual(2);
  expect(rendered.query_range.results_cache.cache.embedded_cache.max_size_mb).toBeLessThanOrEqual(16);
  expect(rendered.chunk_store_config.chunk_cache_config.embedded_cache.max_size_mb).toBeLessThanOrEqual(16);
  expect(rendered.ingester.wal.replay_memory_ceiling).toBe('64MB');
  expect(rendered.limits_config.ingestion_rate_mb).toBeLessThanOrEqual(2);
  expect(rendered.analytics.reporting_enabled).toBe(false);
});

test('probes on /ready; GOMEMLIMIT under the memory limit', () => {
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].httpGet.path).toBe('/ready');
  const limitMi = parseInt(fullConfig().components.loki.containers.loki.limits.memory, 10);
  const gomem = container.env.find((e: any) => e.name === 'GOMEMLIMIT').value;
  expect(parseInt(gomem, 10)).toBeLessThan(limitMi);
});

test('policy: in from fluent-bit, Grafana and Prometheus on 3100; out to Alertmanager only', () => {
  const policy = find(objects, 'NetworkPolicy', 'loki-flows', 'monitoring');
  const apps = (peers: any[]) => peers.map((p) => p.podSelector.matchLabels['app.kubernetes.io/name']);
  expect(policy.spec.ingress).toHaveLength(1);
  expect(apps(policy.spec.ingress[0].from).sort()).toEqual(['fluent-bit', 'grafana', 'prometheus']);
  expect(policy.spec.ingress[0].ports).toEqual([{ port: 3100, protocol: 'TCP' }]);
  expect(policy.spec.egress).toHaveLength(1);
  expect(apps(policy.spec.egress[0].to)).toEqual(['alertmanager']);
  expect(policy.spec.egress[0].ports).toEqual([{ port: 9093, protocol: 'TCP' }]);
});

test('by default the ruler gets the failed-logins rule file of loki-rules.ts', () => {
  const { lokiRuleFiles } = jest.requireActual('../lib/apps/monitoring/loki-rules');
  const data = find(synth(), 'ConfigMap', 'loki-rules').data;
  expect(data).toEqual(lokiRuleFiles(fullConfig()));
  expect(Object.values(data as Record<string, string>).join()).toContain('FailedLoginsHigh');
});
