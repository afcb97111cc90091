import { BudgetError, budgetTable, componentTable, computeBudget, podUsages } from '../lib/budget';
import { buildApp, manifestsOf } from '../lib/stack';
import { resolveConfig } from '../lib/config';
import { synthesize } from '../lib/stack';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';

const Mi = 1024 ** 2;

function container(name: string, memRequest: string, memLimit: string, extra: Record<string, unknown> = {}) {
  return { name, resources: { requests: { cpu: '10m', memory: memRequest }, limits: { cpu: '100m', memory: memLimit } }, ...extra };
}

function deployment(name: string, spec: Record<string, unknown>, replicas = 1) {
  return { kind: 'Deployment', metadata: { name, namespace: 'apps' }, spec: { replicas, template: { spec } } };
}

describe('podUsages', () => {
  test('sums containers and native sidecars; a regular init container counts only at its peak', () => {
    const [usage] = podUsages([
      deployment('web', {
        initContainers: [container('migrate', '200Mi', '300Mi'), container('sidecar', '20Mi', '40Mi', { restartPolicy: 'Always' })],
        containers: [container('app', '100Mi', '200Mi'), container('helper', '30Mi', '60Mi')],
      }),
    ]);
    expect(usage.memoryRequest).toBe(200 * Mi); // max(init 200, sidecar 20 + app 100 + helper 30)
    expect(usage.memoryLimit).toBe(300 * Mi);
    expect(usage.cpuRequest).toBe(30);
  });

  test('init containers after a sidecar run alongside it', () => {
    const [usage] = podUsages([
      deployment('web', {
        initContainers: [container('sidecar', '50Mi', '50Mi', { restartPolicy: 'Always' }), container('late-init', '100Mi', '100Mi')],
        containers: [container('app', '10Mi', '10Mi')],
      }),
    ]);
    expect(usage.memoryRequest).toBe(150 * Mi);
  });

  test('replicas multiply, CronJobs are transient, other kinds are ignored', () => {
    const usages = podUsages([
      deployment('web', { containers: [container('app', '10Mi', '20Mi')] }, 3),
      { kind: 'CronJob', metadata: { name: 'cron', namespace: 'apps' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [container('c', '64Mi', '128Mi')] } } } } } },
      { kind: 'ConfigMap', metadata: { name: 'x', namespace: 'apps' } },
    ]);
    expect(usages.map((u) => [u.workload, u.memoryRequest / Mi, u.transient])).toEqual([
      ['apps/web', 30, false],
      ['apps/cron', 64, true],
    ]);
  });

  test('an unparsable quantity is an error, not a zero', () => {
    expect(() => podUsages([deployment('web', { containers: [container('app', 'lots', '1Gi')] })])).toThrow(/container app: unparsable memory requests 'lots'/);
  });
});

describe('computeBudget', () => {
  const config = resolveConfig();

  test('available memory is RAM minus the node model reservations', () => {
    const report = computeBudget(config, []);
    // 2048 - 100 kernel - 150 OS - 450 k3s - 70 coredns - 70 metrics-server
    expect(report.available).toBe(1208 * Mi);
    // Traefik is sized by our config even though k3s runs it
    expect(report.pods.map((p) => p.workload)).toEqual(['kube-system/traefik']);
    expect(report.problems).toEqual([]);
  });

  test('steady requests plus the largest job must fit', () => {
    const manifests = [
      deployment('big', { containers: [container('app', '1100Mi', '1100Mi')] }),
      { kind: 'CronJob', metadata: { name: 'job', namespace: 'apps' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [container('c', '100Mi', '100Mi')] } } } } } },
    ];
    const report = computeBudget(config, manifests);
    expect(report.steadyRequests).toBe((1100 + 48) * Mi);
    expect(report.peakRequests).toBe((1100 + 48 + 100) * Mi);
    expect(report.problems).toEqual([
      'memory requests 1248Mi (steady 1148Mi + largest job 100Mi) exceed the 1208Mi the node model leaves for workloads',
    ]);
  });

  test('limits may overcommit only up to node.limitOvercommit', () => {
    const report = computeBudget(resolveConfig({ node: { limitOvercommit: 1 } }), [deployment('x', { containers: [container('app', '10Mi', '1200Mi')] })]);
    expect(report.problems).toEqual(['memory limits 1328Mi exceed node.limitOvercommit (1) x 1208Mi = 1208Mi']);
  });

  test('the error names the largest consumers', () => {
    const report = computeBudget(config, [deployment('hog', { containers: [container('app', '1500Mi', '1500Mi')] })]);
    const message = new BudgetError(report).message;
    expect(message).toMatch(/^memory budget exceeded:/);
    expect(message).toContain('| apps/hog | Deployment | 1500Mi | 1500Mi |');
    expect(budgetTable(report).split('\n')[2]).toMatch(/^\| apps\/hog /);
  });
});

test('synthesis refuses an over-budget stack and writes nothing', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-budget-'));
  fs.writeFileSync(path.join(outdir, 'keep.yaml'), 'kept');
  const greedy = resolveConfig({ node: { physicalMemory: '1Gi', k3sReserved: '800Mi' } });
  expect(() => synthesize(greedy, outdir)).toThrow(BudgetError);
  expect(fs.readFileSync(path.join(outdir, 'keep.yaml'), 'utf8')).toBe('kept');
});

test('the default stack fits the board', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-budget-'));
  const report = synthesize(resolveConfig(), outdir);
  expect(report.problems).toEqual([]);
  expect(report.peakRequests).toBeLessThanOrEqual(report.available);
});

test('nginx-proxy-manager mode needs one component less than the default stack, as the README says', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-budget-'));
  expect(() => synthesize(resolveConfig({ ingress: { mode: 'nginx-proxy-manager' } }), outdir)).toThrow(/memory requests 1232Mi .* exceed the 1208Mi/);
  const report = synthesize(resolveConfig({ ingress: { mode: 'nginx-proxy-manager' }, components: { portainer: { enabled: false } } }), outdir);
  expect(report.problems).toEqual([]);
});

test('every synthesized pod is sized under a component, and the component table adds up to the totals', () => {
  const config = resolveConfig();
  const report = computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
  expect(report.pods.filter((p) => p.component.startsWith('(')).map((p) => p.workload)).toEqual([]);
  const rows = componentTable(report).split('\n').slice(2).map((line) => line.split('|').map((cell) => cell.trim()));
  const total = rows.reduce((sum, cells) => sum + Number(cells[3].replace('Mi', '')), 0);
  expect(total).toBe(report.steadyRequests / Mi);
  expect(rows.find((cells) => cells[1] === 'kopia')).toEqual(['', 'kopia', '1', '48Mi', '256Mi', '96Mi', '']);
  expect(rows.find((cells) => cells[1] === 'vpn')?.slice(2, 6)).toEqual(['1', '152Mi', '576Mi', '8Mi']);
});
