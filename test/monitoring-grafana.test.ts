import { App } from 'cdk8s';
import { parse } from 'yaml';
import { PotatoStackOverrides } from '../lib/config';
import { PotatoChart, SECURITY_EXCEPTION_ANNOTATION } from '../lib/constructs';
import { Grafana } from '../lib/apps/monitoring/grafana';
import { DashboardSpec, dashboards, expressionsOf, renderDashboard } from '../lib/apps/monitoring/dashboards';
import { Manifest, find, fullConfig } from './helpers';

function synth(overrides: PotatoStackOverrides = {}): Manifest[] {
  const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', fullConfig(overrides));
  new Grafana(chart, 'grafana');
  return chart.toJson() as Manifest[];
}

const objects = synth();
const deployment = find(objects, 'Deployment', 'grafana', 'monitoring');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));

function datasources(objs: Manifest[]): Record<string, { url: string; type: string; uid: string }> {
  const file = parse(find(objs, 'ConfigMap', 'grafana-datasources').data['datasources.yaml']);
  return Object.fromEntries(file.datasources.map((d: any) => [d.name, d]));
}

function boardFiles(objs: Manifest[]): Record<string, any> {
  const data = find(objs, 'ConfigMap', 'grafana-dashboards').data as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([file, json]) => [file, JSON.parse(json)]));
}

describe('datasources', () => {
  test('Prometheus, Loki and Alertmanager at their monitoring Service addresses, Prometheus the default', () => {
    const ds = datasources(objects);
    expect(Object.keys(ds).sort()).toEqual(['Alertmanager', 'Loki', 'Prometheus']);
    expect(ds.Prometheus).toMatchObject({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus.monitoring.svc:9090', isDefault: true });
    expect(ds.Loki).toMatchObject({ type: 'loki', uid: 'loki', url: 'http://loki.monitoring.svc:3100' });
    expect(ds.Alertmanager).toMatchObject({ type: 'alertmanager', uid: 'alertmanager', url: 'http://alertmanager.monitoring.svc:9093' });
  });

  test('follow the components: no Loki or Alertmanager when disabled, Thanos when enabled', () => {
    const ds = datasources(synth({ components: { loki: { enabled: false }, alertmanager: { enabled: false }, thanos: { enabled: true } } }));
    expect(Object.keys(ds).sort()).toEqual(['Prometheus', 'Thanos']);
    expect(ds.Thanos.url).toBe('http://thanos-query.monitoring.svc:10902');
  });
});

describe('dashboards', () => {
  const files = boardFiles(objects);

  test('node, pods, SMART, backups and VPN are provisioned as parseable JSON with unique uids', () => {
    expect(Object.keys(files).sort()).toEqual(['backups.json', 'node.json', 'pods.json', 'smart.json', 'vpn.json']);
    const uids = Object.values(files).map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  test('every panel has a query against a provisioned datasource and a place on the grid', () => {
    for (const [file, board] of Object.entries(files)) {
      expect([file, board.panels.length > 0]).toEqual([file, true]);
      for (const panel of board.panels) {
        const where = `${file}: ${panel.title}`;
        expect([where, ['prometheus', 'loki'].includes(panel.datasource.uid)]).toEqual([where, true]);
        expect([where, panel.targets.length > 0, panel.targets.every((t: any) => t.expr.length > 0)]).toEqual([where, true, true]);
        expect([where, panel.gridPos.x + panel.gridPos.w <= 24]).toEqual([where, true]);
      }
      const ids = board.panels.map((p: any) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  test('PromQL brackets and quotes balance in every query', () => {
    for (const board of Object.values(files)) {
      for (const panel of board.panels) {
        for (const t of panel.targets) {
          for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']]) {
            expect([t.expr, t.expr.split(open).length]).toEqual([t.expr, t.expr.split(close).length]);
          }
          expect([t.expr, (t.expr.match(/"/g) ?? []).length % 2]).toEqual([t.expr, 0]);
        }
      }
    }
  });

  test("node dashboard draws memory against the node's real allocatable and the modelled MemTotal", () => {
    const queries = (board: any) => board.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
    expect(queries(files['node.json'])).toContain('sum(kube_node_status_allocatable{resource="memory"})');
    expect(queries(files['node.json'])).toContain(`vector(${1950 * 1024 ** 2})`);
    const bigger = { node: { memTotal: '3800Mi' } };
    expect(queries(boardFiles(synth(bigger))['node.json'])).toContain(`vector(${3800 * 1024 ** 2})`);
  });

  test('node dashboard watches the root file system and both HDD mount points', () => {
    const config = fullConfig({ storage: { mainPath: '/srv/main', cachePath: '/srv/cache' } });
    const text = expressionsOf(dashboards(config)['node.json']).join('\n');
    expect(text).toContain('mountpoint=~"/|/srv/main|/srv/cache"');
  });

  test('pods dashboard compares memory with requests and limits and shows restarts and OOM kills', () => {
    const text = expressionsOf(dashboards(fullConfig())['pods.json']).join('\n');
    for (const metric of ['container_memory_working_set_bytes', 'kube_pod_container_resource_requests', 'kube_pod_container_resource_limits', 'kube_pod_container_status_restarts_total', 'reason="OOMKilled"']) {
      expect([metric, text.includes(metric)]).toEqual([metric, true]);
    }
  });

  test('SMART, backups and VPN dashboards read their sources', () => {
    const boards = dashboards(fullConfig());
    expect(expressionsOf(boards['smart.json']).join()).toContain('smartmon_device_smart_healthy');
    expect(expressionsOf(boards['backups.json']).join()).toContain('kube_cronjob_status_last_successful_time{namespace="apps", cronjob=~"kopia.*"}');
    expect(expressionsOf(boards['vpn.json']).join()).toContain('{namespace="vpn", container="gluetun"}');
  });

  test('dashboards of disabled components are left out', () => {
    const files2 = boardFiles(synth({ monitoring: { smart: false }, components: { kopia: { enabled: false }, vpn: { enabled: false }, slskd: { enabled: false } } }));
    expect(Object.keys(files2).sort()).toEqual(['node.json', 'pods.json']);
  });

  test('renderDashboard lays panels out in rows and rejects an empty dashboard', () => {
    const spec: DashboardSpec = {
      uid: 'x',
      title: 'x',
      description: 'x',
      panels: [
        { title: 'a', type: 'stat', queries: [{ expr: 'up' }] },
        { title: 'b', type: 'timeseries', queries: [{ expr: 'up' }] },
        { title: 'c', type: 'timeseries', queries: [{ expr: 'up' }] },
      ],
    };
    const rendered = renderDashboard(spec) as any;
    expect(rendered.panels.map((p: any) => p.gridPos)).toEqual([
      { x: 0, y: 0, w: 6, h: 4 },
      { x: 6, y: 0, w: 12, h: 8 },
      { x: 0, y: 8, w: 12, h: 8 },
    ]);
    expect(() => renderDashboard({ ...spec, panels: [] })).toThrow(/no panels/);
  });
});

describe('deployment', () => {
  test('admin login comes from the configured Secret through *__FILE, mounted non-optional', () => {
    expect(env.GF_SECURITY_ADMIN_USER__FILE).toBe('/etc/grafana/secrets/admin-user');
    expect(env.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe('/etc/grafana/secrets/admin-password');
    expect(pod.volumes.find((v: any) => v.name === 'admin').secret).toMatchObject({ secretName: 'grafana-admin', optional: false });
    const other = find(synth({ monitoring: { grafanaAdminSecret: 'my-grafana' } }), 'Deployment', 'grafana');
    expect(other.spec.template.spec.volumes.find((v: any) => v.name === 'admin').secret.secretName).toBe('my-grafana');
    expect(JSON.stringify(objects)).not.toMatch(/GF_SECURITY_ADMIN_PASSWORD"/);
  });

  test('root URL from the domain, analytics and update checks off', () => {
    expect(find(synth({ domain: 'home.example.org' }), 'Deployment', 'grafana').spec.template.spec.containers[0].env).toContainEqual({
      name: 'GF_SERVER_ROOT_URL',
      value: 'https://grafana.home.example.org/',
    });
    expect(env).toMatchObject({ GF_ANALYTICS_REPORTING_ENABLED: 'false', GF_ANALYTICS_CHECK_FOR_UPDATES: 'false', GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: 'false' });
  });

  test('data on the grafana-data claim as UID 472, probes on /api/health, hardened', () => {
    expect(pod.securityContext).toMatchObject({ runAsUser: 472, runAsGroup: 472 });
    expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'grafana-data' } });
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/grafana' });
    expect(container.startupProbe.httpGet.path).toBe('/api/health');
    expect(container.livenessProbe.httpGet.path).toBe('/api/health');
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(Object.keys(deployment.spec.template.metadata.annotations).filter((k) => k.startsWith(SECURITY_EXCEPTION_ANNOTATION))).toEqual([]);
  });

  test('served at grafana.<domain> through the proxy', () => {
    const ingress = find(objects, 'Ingress', 'grafana', 'monitoring');
    expect(ingress.spec.rules[0].host).toBe('grafana.potato.lan');
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'grafana', port: { name: 'http' } });
  });

  test('policy: in from the ingress controller and Prometheus on 3000, out to Prometheus, Loki and Alertmanager only', () => {
    const policy = find(objects, 'NetworkPolicy', 'grafana-flows', 'monitoring');
    const peer = (ns: string, app: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': app } } });
    const port = (p: number) => [{ port: p, protocol: 'TCP' }];
    expect(policy.spec.ingress).toEqual([
      { from: [peer('kube-system', 'traefik')], ports: port(3000) },
      { from: [peer('monitoring', 'prometheus')], ports: port(3000) },
    ]);
    expect(policy.spec.egress).toEqual([
      { to: [peer('monitoring', 'prometheus')], ports: port(9090) },
      { to: [peer('monitoring', 'loki')], ports: port(3100) },
      { to: [peer('monitoring', 'alertmanager')], ports: port(9093) },
    ]);
  });
});
