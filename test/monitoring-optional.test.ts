import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { BudgetError, BudgetReport, computeBudget } from '../lib/budget';
import { PotatoStackOverrides } from '../lib/config';
import { memoryBytes } from '../lib/config/quantity';
import { PotatoChart } from '../lib/constructs';
import { buildApp, manifestsOf, synthesize } from '../lib/stack';
import { ThanosQuery, thanosSidecarContainer } from '../lib/apps/monitoring/thanos';
import { Manifest, find, fullConfig, synthFull } from './helpers';

function budgetOf(overrides: PotatoStackOverrides): BudgetReport {
  const config = fullConfig(overrides);
  return computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
}

function requestsOf(component: 'netdata' | 'thanos'): number {
  const containers = fullConfig().components[component].containers;
  return Object.values(containers).reduce((sum, c) => sum + (memoryBytes(c.requests.memory) ?? 0), 0);
}

const defaults = budgetOf({});

test('Netdata and Thanos are off by default', () => {
  const objects = synthFull();
  expect(objects.filter((o) => ['netdata', 'thanos-query', 'thanos-sidecar'].includes(o.metadata.name))).toEqual([]);
  expect(JSON.stringify(objects)).not.toContain('"thanos-sidecar"');
});

test('enabling Netdata costs exactly its requests, and the budget check names it when it does not fit', () => {
  const overrides = { components: { netdata: { enabled: true } } };
  const report = budgetOf(overrides);
  expect(report.steadyRequests - defaults.steadyRequests).toBe(requestsOf('netdata'));
  expect(report.pods.map((p) => p.workload)).toContain('monitoring/netdata');
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'netdata-budget-'));
  if (report.problems.length > 0) {
    let error: unknown;
    try {
      synthesize(fullConfig(overrides), outdir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BudgetError);
    expect((error as Error).message).toContain('monitoring/netdata');
  } else {
    expect(synthesize(fullConfig(overrides), outdir).steadyRequests).toBe(report.steadyRequests);
  }
});

test('enabling Thanos costs exactly the sidecar plus query requests', () => {
  const report = budgetOf({ components: { thanos: { enabled: true } } });
  expect(report.steadyRequests - defaults.steadyRequests).toBe(requestsOf('thanos'));
});

test('with Thanos on, the Prometheus pod carries the sidecar and thanos-query reads it', () => {
  const objects = synthFull({ components: { thanos: { enabled: true } } });
  const prometheus = find(objects, 'Deployment', 'prometheus', 'monitoring').spec.template.spec;
  const all = [...(prometheus.initContainers ?? []), ...prometheus.containers];
  expect(all.map((c: any) => c.name)).toContain('thanos-sidecar');
  const query = find(objects, 'Deployment', 'thanos-query', 'monitoring').spec.template.spec.containers[0];
  expect(query.args).toContain('--endpoint=thanos-sidecar.monitoring.svc:10901');
  expect(find(objects, 'Service', 'thanos-sidecar', 'monitoring').spec.selector).toEqual({ 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'prometheus' });
});

test('sidecar container: reads the TSDB read-only, talks to Prometheus on localhost, sized from the catalog', () => {
  const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', fullConfig({ components: { thanos: { enabled: true } } }));
  const sidecar = thanosSidecarContainer(chart, { dataVolume: 'data', dataPath: '/prometheus' });
  expect(sidecar.args).toEqual(expect.arrayContaining(['sidecar', '--prometheus.url=http://localhost:9090', '--tsdb.path=/prometheus', '--grpc-address=0.0.0.0:10901']));
  expect(sidecar.mounts).toEqual([{ volume: 'data', path: '/prometheus', readOnly: true }]);
  expect(sidecar.size).toEqual(fullConfig().components.thanos.containers['thanos-sidecar']);
});

test('Thanos policies: Grafana -> query:10902, query -> Prometheus pod:10901, nothing else', () => {
  const chart = new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', fullConfig({ components: { thanos: { enabled: true } } }));
  new ThanosQuery(chart, 'thanos');
  const objects = chart.toJson() as Manifest[];
  const app = (ns: string, name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': name } } });
  const query = find(objects, 'NetworkPolicy', 'thanos-query-flows');
  expect(query.spec.ingress).toEqual([{ from: [app('monitoring', 'grafana')], ports: [{ port: 10902, protocol: 'TCP' }] }]);
  expect(query.spec.egress).toEqual([{ to: [app('monitoring', 'prometheus')], ports: [{ port: 10901, protocol: 'TCP' }] }]);
  const sidecar = find(objects, 'NetworkPolicy', 'prometheus-thanos-sidecar');
  expect(sidecar.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'prometheus' } });
  expect(sidecar.spec.policyTypes).toEqual(['Ingress']);
  expect(sidecar.spec.ingress).toEqual([{ from: [app('monitoring', 'thanos-query')], ports: [{ port: 10901, protocol: 'TCP' }] }]);
});
