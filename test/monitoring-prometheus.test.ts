import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ConfigError, PotatoStackOverrides } from '../lib/config';
import { dashboards, expressionsOf } from '../lib/apps/monitoring/dashboards';
import { KSM_METRIC_FAMILIES } from '../lib/apps/monitoring/kube-state-metrics';
import { FAILED_LOGIN_PATTERNS, lokiRuleFile } from '../lib/apps/monitoring/loki-rules';
import { K3S_HISTOGRAM_DROP, prometheusConfig } from '../lib/apps/monitoring/prometheus-config';
import { RULE_FILE_NAME, SeedKpi, THRESHOLDS, alertRuleGroups } from '../lib/apps/monitoring/rules';
import { Manifest, find, podSpecOf, fullConfig, synthFull } from './helpers';

const objects = synthFull();
const deployment = find(objects, 'Deployment', 'prometheus', 'monitoring');
const pod = podSpecOf(deployment);
const container = pod.containers.find((c: any) => c.name === 'prometheus');
const shippedConfig = (objs: Manifest[] = objects) => parse(find(objs, 'ConfigMap', 'prometheus-config', 'monitoring').data['prometheus.yml']);
const job = (cfg: any, name: string) => {
  const found = cfg.scrape_configs.find((j: any) => j.job_name === name);
  if (!found) throw new Error(`no scrape job ${name}`);
  return found;
};

type Labels = Record<string, string>;

/** Applies keep/drop/labeldrop metric relabelling as Prometheus does (anchored RE2-compatible regexes). */
function relabel(rules: any[], sample: Labels): Labels | undefined {
  let labels: Labels = { ...sample };
  for (const r of rules) {
    const re = new RegExp(`^(?:${r.regex ?? '(.*)'})$`);
    if (r.action === 'labeldrop') {
      labels = Object.fromEntries(Object.entries(labels).filter(([k]) => !re.test(k)));
      continue;
    }
    const value = (r.source_labels ?? []).map((l: string) => labels[l] ?? '').join(r.separator ?? ';');
    if (r.action === 'keep' && !re.test(value)) return undefined;
    if (r.action === 'drop' && re.test(value)) return undefined;
  }
  return labels;
}

/** Metric names in a PromQL expression (good enough for our rule and dashboard texts). */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  return [...withoutStrings.matchAll(/\b([a-zA-Z_][a-zA-Z0-9_]*)\s*(?=\{|\[|\)|$|\s|>|<|=|\*|\/|-|\+)/g)]
    .map((m) => m[1])
    .filter((n) => /^(kube|node|container|kubelet|traefik|kopia|smartmon|alertmanager|prometheus|up)(_|$)/.test(n));
}

describe('Prometheus workload', () => {
  test('runs as nobody with its TSDB on the prometheus-data claim and probes on /-/ready and /-/healthy', () => {
    expect(pod.securityContext).toMatchObject({ runAsUser: 65534, runAsGroup: 65534 });
    const data = pod.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === 'prometheus-data');
    expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: data.name, mountPath: '/prometheus' }));
    expect(container.readinessProbe.httpGet.path).toBe('/-/ready');
    expect(container.startupProbe.httpGet.path).toBe('/-/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/-/healthy');
  });

  test('flags carry the configured retention, WAL compression and the query limits', () => {
    const args = podSpecOf(find(synthFull({ monitoring: { prometheus: { retentionTime: '30d', retentionSize: '4GB' } } }), 'Deployment', 'prometheus')).containers[0].args;
    expect(args).toEqual(expect.arrayContaining(['--storage.tsdb.retention.time=30d', '--storage.tsdb.retention.size=4GB', '--storage.tsdb.wal-compression', '--query.max-concurrency=2']));
    expect(container.args).toContain('--storage.tsdb.retention.time=15d');
    expect(container.args).toContain('--web.external-url=https://prometheus.potato.lan/');
  });

  test('sizes come from components.ts and a config change rolls the pod', () => {
    expect(container.resources.requests.memory).toBe(fullConfig().components.prometheus.containers.prometheus.requests.memory);
    const other = find(synthFull({ monitoring: { prometheus: { scrapeInterval: '30s' } } }), 'Deployment', 'prometheus');
    expect(other.spec.template.metadata.annotations['potatostack.io/config-hash']).not.toBe(deployment.spec.template.metadata.annotations['potatostack.io/config-hash']);
  });

  test('the Thanos sidecar joins the pod only when Thanos is enabled', () => {
    expect(pod.containers.map((c: any) => c.name)).toEqual(['prometheus']);
    const withThanos = podSpecOf(find(synthFull({ components: { thanos: { enabled: true } } }), 'Deployment', 'prometheus'));
    expect(withThanos.containers.map((c: any) => c.name)).toEqual(['prometheus', 'thanos-sidecar']);
  });
});

describe('Prometheus RBAC', () => {
  const role = find(objects, 'ClusterRole', 'prometheus');

  test('read-only discovery plus nodes/metrics and /metrics; no nodes/proxy, no secrets, no wildcards', () => {
    const text = JSON.stringify(role.rules);
    expect(text).toContain('nodes/metrics');
    expect(text).not.toContain('nodes/proxy');
    expect(text).not.toContain('secrets');
    expect(text).not.toContain('"*"');
    for (const rule of role.rules) expect(rule.verbs.every((v: string) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    expect(role.rules).toContainEqual({ nonResourceURLs: ['/metrics'], verbs: ['get'] });
  });

  test('grants list/watch on what each discovery role of prometheus.yml watches', () => {
    const watched: Record<string, string[]> = { node: ['nodes'], pod: ['pods'], endpointslice: ['endpointslices', 'services', 'pods'] };
    const roles = new Set<string>(shippedConfig().scrape_configs.flatMap((j: any) => (j.kubernetes_sd_configs ?? []).map((sd: any) => sd.role)));
    expect([...roles].sort()).toEqual(['endpointslice', 'node', 'pod']);
    for (const sdRole of roles) {
      for (const resource of watched[sdRole]) {
        const grant = role.rules.find((r: any) => r.resources?.includes(resource));
        expect([sdRole, resource, grant?.verbs]).toEqual([sdRole, resource, expect.arrayContaining(['list', 'watch'])]);
      }
    }
  });

  test('the ServiceAccount is bound to it and mounted only in the Prometheus pod', () => {
    const binding = find(objects, 'ClusterRoleBinding', 'prometheus');
    expect(binding.roleRef.name).toBe('prometheus');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }]);
    expect(pod.serviceAccountName).toBe('prometheus');
  });
});

describe('prometheus.yml', () => {
  const cfg = shippedConfig();

  test('scrapes and evaluates at the configured interval and alerts to Alertmanager', () => {
    expect(cfg.global.scrape_interval).toBe('60s');
    expect(cfg.global.evaluation_interval).toBe('60s');
    expect(shippedConfig(synthFull({ monitoring: { prometheus: { scrapeInterval: '30s' } } })).global.scrape_interval).toBe('30s');
    expect(cfg.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager.monitoring.svc:9093']);
    expect(shippedConfig(synthFull({ components: { alertmanager: { enabled: false } } })).alerting).toBeUndefined();
    expect(cfg.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
  });

  test('the rule file is mounted where rule_files points', () => {
    const rules = find(objects, 'ConfigMap', 'prometheus-rules', 'monitoring');
    expect(Object.keys(rules.data)).toEqual([RULE_FILE_NAME]);
    const volume = pod.volumes.find((v: any) => v.configMap?.name === 'prometheus-rules');
    expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: volume.name, mountPath: '/etc/prometheus/rules' }));
  });

  test('the kubelet and its cAdvisor endpoint are scraped directly over HTTPS with the token, verified against the cluster CA', () => {
    for (const name of ['kubelet', 'cadvisor']) {
      const j = job(cfg, name);
      expect(j.kubernetes_sd_configs).toEqual([{ role: 'node' }]);
      expect(j.scheme).toBe('https');
      expect(j.authorization.credentials_file).toBe('/var/run/secrets/kubernetes.io/serviceaccount/token');
      expect(j.tls_config).toEqual({ ca_file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' });
    }
    expect(job(cfg, 'cadvisor').metrics_path).toBe('/metrics/cadvisor');
  });

  test("k3s's duplicated apiserver/etcd histograms are dropped on the kubelet and apiserver jobs", () => {
    const heavy = [
      'apiserver_request_duration_seconds_bucket',
      'etcd_request_duration_seconds_bucket',
      'apiserver_request_body_size_bytes_bucket',
      'apiserver_response_sizes_bucket',
      'apiserver_watch_events_sizes_bucket',
      'workqueue_queue_duration_seconds_bucket',
      'workqueue_work_duration_seconds_bucket',
      'rest_client_request_duration_seconds_bucket',
    ];
    for (const name of ['kubelet', 'apiserver']) {
      const rules = job(cfg, name).metric_relabel_configs;
      expect(rules[0].regex).toBe(K3S_HISTOGRAM_DROP);
      for (const metric of heavy) expect([name, metric, relabel([rules[0]], { __name__: metric })]).toEqual([name, metric, undefined]);
    }
    // The k3s process' own memory survives: the budget's largest reserved line.
    expect(relabel(job(cfg, 'apiserver').metric_relabel_configs, { __name__: 'process_resident_memory_bytes' })).toBeDefined();
    expect(relabel(job(cfg, 'apiserver').metric_relabel_configs, { __name__: 'apiserver_request_total' })).toBeUndefined();
  });

  test('cAdvisor keeps per-container series and pod network, drops cgroup aggregates and unused families', () => {
    const rules = job(cfg, 'cadvisor').metric_relabel_configs;
    expect(relabel(rules, { __name__: 'container_memory_working_set_bytes', container: 'nextcloud', id: '/kubepods/x', name: 'abc' })).toEqual({
      __name__: 'container_memory_working_set_bytes',
      container: 'nextcloud',
    });
    expect(relabel(rules, { __name__: 'container_memory_working_set_bytes', container: '' })).toBeUndefined();
    expect(relabel(rules, { __name__: 'container_cpu_usage_seconds_total', container: 'POD' })).toBeUndefined();
    expect(relabel(rules, { __name__: 'container_network_receive_bytes_total', container: '', pod: 'vpn-x' })).toBeDefined();
    expect(relabel(rules, { __name__: 'container_fs_inodes_total', container: 'gitea' })).toBeUndefined();
  });

  test('every kubelet/cAdvisor metric the rules and dashboards read survives its job filter', () => {
    const config = fullConfig();
    const exprs = [
      ...alertRuleGroups(config).flatMap((g) => g.rules.map((r) => r.expr)),
      ...Object.values(dashboards(config)).flatMap((d) => expressionsOf(d)),
    ];
    const used = new Set(exprs.flatMap(metricNames));
    const kubeletRules = job(cfg, 'kubelet').metric_relabel_configs;
    const cadvisorRules = job(cfg, 'cadvisor').metric_relabel_configs;
    const checked = [...used].filter((n) => n.startsWith('container_') || n.startsWith('kubelet_'));
    expect(checked.length).toBeGreaterThan(3);
    for (const name of checked) {
      const rules = name.startsWith('container_') ? cadvisorRules : kubeletRules;
      expect([name, relabel(rules, { __name__: name, container: 'app', pod: 'p' }) !== undefined]).toEqual([name, true]);
    }
  });

  test('pods opt in by annotation; the dedicated exporter jobs are not scraped twice', () => {
    const pods = job(cfg, 'pods');
    expect(pods.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    const keep = pods.relabel_configs[0];
    expect(keep).toEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' });
    const excluded = pods.relabel_configs.find((r: any) => r.action === 'drop' && r.source_labels[0] === '__meta_kubernetes_pod_label_app_kubernetes_io_name');
    for (const name of ['node-exporter', 'kube-state-metrics', 'traefik']) {
      expect(new RegExp(`^(?:${excluded.regex})$`).test(name)).toBe(true);
      expect(job(cfg, name)).toBeDefined();
    }
    expect(new RegExp(`^(?:${excluded.regex})$`).test('kopia')).toBe(false);
    // Histograms of other apps are dropped there; Traefik's job keeps its buckets for the response-time alert.
    expect(relabel(pods.metric_relabel_configs, { __name__: 'loki_request_duration_seconds_bucket' })).toBeUndefined();
    expect(relabel(job(cfg, 'traefik').metric_relabel_configs, { __name__: 'traefik_service_request_duration_seconds_bucket' })).toBeDefined();
  });

  test("kube-state-metrics' own namespace/pod/container labels are kept, not renamed to exported_*", () => {
    const ksm = job(cfg, 'kube-state-metrics');
    expect(ksm.honor_labels).toBe(true);
    const targets = ksm.relabel_configs.map((r: any) => r.target_label).filter(Boolean);
    for (const label of ['namespace', 'pod', 'container']) expect(targets).not.toContain(label);
    // Exporters about themselves keep the pod labels.
    expect(job(cfg, 'node-exporter').honor_labels).toBeUndefined();
    expect(job(cfg, 'node-exporter').relabel_configs.map((r: any) => r.target_label)).toContain('namespace');
  });

  test('jobs follow the components: no Traefik job in nginx-proxy-manager mode, no node-exporter job without it', () => {
    const npm = prometheusConfig(fullConfig({ ingress: { mode: 'nginx-proxy-manager' }, components: { 'node-exporter': { enabled: false } } })) as any;
    const names = npm.scrape_configs.map((j: any) => j.job_name);
    expect(names).not.toContain('traefik');
    expect(names).not.toContain('node-exporter');
    expect(names).toEqual(expect.arrayContaining(['prometheus', 'apiserver', 'kubelet', 'cadvisor', 'pods']));
  });
});

describe('Prometheus NetworkPolicy', () => {
  const policy = find(objects, 'NetworkPolicy', 'prometheus-flows', 'monitoring');
  const peersOn = (rules: any[], port: number) => rules.filter((r) => r.ports.some((p: any) => p.port === port)).flatMap((r) => r.to ?? r.from);

  test('only the ingress controller and Grafana reach :9090', () => {
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].ports).toEqual([{ port: 9090, protocol: 'TCP' }]);
    const apps = policy.spec.ingress[0].from.map((p: any) => `${p.namespaceSelector.matchLabels['kubernetes.io/metadata.name']}/${p.podSelector.matchLabels['app.kubernetes.io/name']}`);
    expect(apps.sort()).toEqual(['kube-system/traefik', 'monitoring/grafana']);
  });

  test('egress: API server, kubelet and node-exporter on the node, each scraped app on its metrics port, Alertmanager; nothing open-ended', () => {
    const egress = policy.spec.egress;
    expect(peersOn(egress, 6443)).toEqual([{ ipBlock: { cidr: '192.168.178.0/24' } }]);
    expect(peersOn(egress, 10250)).toEqual([{ ipBlock: { cidr: '192.168.178.0/24' } }]);
    expect(peersOn(egress, 9100)).toContainEqual({ ipBlock: { cidr: '192.168.178.0/24' } });
    expect(peersOn(egress, 51516)).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kopia' } } }]);
    expect(peersOn(egress, 9093)[0].podSelector.matchLabels['app.kubernetes.io/name']).toBe('alertmanager');
    for (const rule of egress) {
      expect(rule.ports.length).toBeGreaterThan(0);
      for (const peer of rule.to) expect(peer.ipBlock?.cidr).not.toBe('0.0.0.0/0');
    }
  });

  test('a disabled app gets no egress rule', () => {
    const other = find(synthFull({ components: { kopia: { enabled: false } } }), 'NetworkPolicy', 'prometheus-flows', 'monitoring');
    expect(peersOn(other.spec.egress, 51516)).toEqual([]);
  });
});

describe('alert rules', () => {
  const config = fullConfig();
  const groups = alertRuleGroups(config);
  const rules = groups.flatMap((g) => g.rules);
  const shipped = parse(find(objects, 'ConfigMap', 'prometheus-rules', 'monitoring').data[RULE_FILE_NAME]);

  test('the shipped file is the rendered groups, each rule with a severity, summary and description', () => {
    const shippedRules = shipped.groups.flatMap((g: any) => g.rules);
    expect(shippedRules.map((r: any) => r.alert)).toEqual(rules.map((r) => r.alert));
    for (const r of shippedRules) {
      expect([r.alert, ['critical', 'warning', 'info'].includes(r.labels.severity)]).toEqual([r.alert, true]);
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      expect(r.annotations.description.length).toBeGreaterThan(20);
    }
  });

  test('each alert name and severity pair is unique', () => {
    const keys = rules.map((r) => `${r.alert}/${r.severity}/${JSON.stringify(r.labels ?? {})}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('every seed KPI is covered by at least one rule (failed logins by the Loki ruler)', () => {
    const seed: SeedKpi[] = ['memory > 90 %', 'disk > 95 %', 'service down', 'response time > 5 s', 'backup success < 95 %', 'service uptime < 99.5 %'];
    const issue: SeedKpi[] = ['SMART failing', 'pod crash-looping', 'OOMKilled', 'PV filling up', 'VPN down'];
    const covered = new Set(rules.map((r) => r.kpi));
    for (const kpi of [...seed, ...issue]) expect([kpi, covered.has(kpi)]).toEqual([kpi, true]);
    expect(JSON.stringify(lokiRuleFile(config))).toContain(`> ${THRESHOLDS.failedLoginsPerDay}`);
  });

  test('the thresholds in the expressions are the constants', () => {
    const expr = (name: string, severity?: string) => rules.find((r) => r.alert === name && (!severity || r.severity === severity))!.expr;
    expect(expr('NodeMemoryHigh')).toMatch(new RegExp(`> ${THRESHOLDS.memoryUsedPercent}$`));
    expect(expr('NodeFilesystemAlmostFull', 'critical')).toMatch(new RegExp(`> ${THRESHOLDS.diskCriticalPercent}$`));
    expect(expr('VolumeDiskAlmostFull', 'critical')).toContain(`mountpoint="${config.storage.mainPath}"`);
    expect(expr('BackupSuccessRateLow')).toMatch(new RegExp(`< ${THRESHOLDS.backupSuccessRatio}$`));
    expect(expr('ServiceResponseTimeHigh')).toContain('le=~"5(\\\\.0)?"');
  });

  test('the HDD rules name the volumes on each disk and follow the configured mount points', () => {
    const custom = alertRuleGroups(fullConfig({ storage: { mainPath: '/srv/main' } })).flatMap((g) => g.rules);
    const main = custom.find((r) => r.alert === 'VolumeDiskAlmostFull' && r.labels?.disk === 'main')!;
    expect(main.expr).toContain('mountpoint="/srv/main"');
    expect(main.description).toContain('nextcloud-data');
    expect(main.description).not.toContain('torrents');
    const root = custom.find((r) => r.alert === 'NodeFilesystemAlmostFull')!;
    expect(root.expr).toContain('mountpoint!~"/srv/main|/mnt/cachehdd"');
  });

  test('rules of disabled components are left out', () => {
    const names = alertRuleGroups(fullConfig({ components: { kopia: { enabled: false }, vpn: { enabled: false }, slskd: { enabled: false } }, monitoring: { smart: false } }))
      .flatMap((g) => g.rules)
      .map((r) => r.alert);
    for (const gone of ['BackupTooOld', 'VpnDown', 'SmartDeviceFailing', 'SmartSectorsDegrading', 'SmartNotReadable', 'SmartDataStale']) expect(names).not.toContain(gone);
    expect(names).toContain('NodeMemoryHigh');
  });

  test('the SMART rules follow node-exporter, which serves the host\'s SMART file', () => {
    const names = (overrides: PotatoStackOverrides) => alertRuleGroups(fullConfig(overrides)).flatMap((g) => g.rules).map((r) => r.alert);
    const smart = ['SmartDeviceFailing', 'SmartSectorsDegrading', 'SmartNotReadable', 'SmartDataStale'];
    expect(names({})).toEqual(expect.arrayContaining(smart));
    expect(names({ components: { 'node-exporter': { enabled: false } } }).filter((n) => smart.includes(n))).toEqual([]);
  });

  test('the SMART rules read the metric names of the host collector', () => {
    const smartRules = rules.filter((r) => r.alert?.startsWith('Smart'));
    expect(smartRules.map((r) => r.alert).sort()).toEqual(['SmartDataStale', 'SmartDeviceFailing', 'SmartNotReadable', 'SmartSectorsDegrading']);
    const names = smartRules.flatMap((r) => r.expr.match(/\b(smartmon|node_textfile)_[a-z_]+/g) ?? []);
    expect([...new Set(names)].sort()).toEqual([
      'node_textfile_mtime_seconds',
      'smartmon_current_pending_sector_raw_value',
      'smartmon_device_active',
      'smartmon_device_smart_enabled',
      'smartmon_device_smart_healthy',
      'smartmon_offline_uncorrectable_raw_value',
      'smartmon_reallocated_sector_ct_raw_value',
    ]);
  });

  test('every kube_* family the rules read is exported by kube-state-metrics', () => {
    const used = new Set(rules.flatMap((r) => metricNames(r.expr)).filter((n) => n.startsWith('kube_')));
    expect(used.size).toBeGreaterThan(8);
    const allowed = new Set<string>(KSM_METRIC_FAMILIES);
    const missing = [...used].filter((n) => !allowed.has(n));
    expect(missing).toEqual([]);
  });
});

describe('Loki failed-login rule', () => {
  test('sums the watched apps over a day against the seed threshold', () => {
    const file = lokiRuleFile(fullConfig()) as any;
    const rule = file.groups[0].rules[0];
    expect(rule.alert).toBe('FailedLoginsHigh');
    expect(rule.labels.severity).toBe('warning');
    for (const p of Object.values(FAILED_LOGIN_PATTERNS)) expect(rule.expr).toContain(`container="${p.container}"} |= "${p.line}" [1d]`);
  });

  test('only enabled apps are searched; none enabled gives no rule', () => {
    const noGitea = JSON.stringify(lokiRuleFile(fullConfig({ components: { gitea: { enabled: false }, postgres: { enabled: false } } })));
    expect(noGitea).not.toContain('container=\\"gitea\\"');
    const none = lokiRuleFile(fullConfig({ components: { gitea: { enabled: false }, postgres: { enabled: false }, nextcloud: { enabled: false }, grafana: { enabled: false } } }));
    expect(none.groups).toEqual([]);
  });
});

describe('monitoring.prometheus validation', () => {
  const problem = (overrides: PotatoStackOverrides): string => {
    try {
      fullConfig(overrides);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.join('\n');
      throw e;
    }
    return '';
  };

  test.each([
    [{ retentionTime: '3d' }, 'monitoring.prometheus.retentionTime'],
    [{ retentionTime: '15 days' }, 'monitoring.prometheus.retentionTime'],
    [{ retentionSize: '8G' }, 'monitoring.prometheus.retentionSize'],
    [{ retentionSize: '19GB' }, 'monitoring.prometheus.retentionSize'],
    [{ scrapeInterval: '5s' }, 'monitoring.prometheus.scrapeInterval'],
    [{ scrapeInterval: '10m' }, 'monitoring.prometheus.scrapeInterval'],
  ])('%j is refused naming %s', (prometheus, prop) => {
    const message = problem({ monitoring: { prometheus } });
    expect(message).toContain(prop);
    expect(message).toContain(String(Object.values(prometheus)[0]));
  });

  test('the defaults and sensible values pass', () => {
    expect(problem({ monitoring: { prometheus: { retentionTime: '4w', retentionSize: '16GB', scrapeInterval: '30s' } } })).toBe('');
  });
});

describe('docs/monitoring.md', () => {
  const section = fs.readFileSync(path.join(__dirname, '..', 'docs', 'monitoring.md'), 'utf8');

  test('lists every alert rule of the default stack with its severity', () => {
    expect(section.length).toBeGreaterThan(1000);
    const rules = alertRuleGroups(fullConfig()).flatMap((g) => g.rules);
    for (const r of rules) {
      const row = section.split('\n').find((line) => line.startsWith(`| \`${r.alert}\``));
      expect([r.alert, row?.includes(r.severity)]).toEqual([r.alert, true]);
    }
    expect(section).toContain('`FailedLoginsHigh` (Loki ruler)');
  });

});
