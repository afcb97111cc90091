import { BudgetError, budgetTable, componentTable, computeBudget, memTotalNeeded, podUsages } from '../lib/budget';
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
  // metrics-server on, as the full profile runs it; the 2 GB profile's choice is tested below
  const config = resolveConfig({ node: { metricsServer: true } });

  test('allocatable is MemTotal minus eviction threshold, OS, k3s, containerd and one shim per pod', () => {
    const report = computeBudget(config, []);
    // pods: traefik (sized by us, run by k3s), coredns, metrics-server, svclb-traefik
    expect(report.node.podCount).toBe(4);
    expect(report.node.kubeReserved).toBe((550 + 64 + 4 * 8) * Mi);
    expect(report.node.allocatable).toBe((1950 - 100 - 200 - 646) * Mi);
    // the add-on pods' requests (coredns 70Mi, metrics-server 70Mi) come off before the stack's own
    expect(report.available).toBe(report.node.allocatable - 140 * Mi);
    expect(report.pods.map((p) => p.workload)).toEqual(['kube-system/traefik']);
    expect(report.problems).toEqual([]);
  });

  test('every pod costs a shim: more pods leave less for workloads', () => {
    const one = computeBudget(config, [deployment('a', { containers: [container('app', '10Mi', '20Mi')] })]);
    const two = computeBudget(config, [deployment('a', { containers: [container('app', '10Mi', '20Mi')] }), deployment('b', { containers: [container('app', '10Mi', '20Mi')] })]);
    expect(one.node.allocatable - two.node.allocatable).toBe(8 * Mi);
  });

  test('without metrics-server its request and pod are not counted', () => {
    const off = computeBudget(resolveConfig({ node: { metricsServer: false } }), []);
    expect(resolveConfig().node.metricsServer).toBe(false);
    expect(resolveConfig({ profile: 'full' }).node.metricsServer).toBe(true);
    const on = computeBudget(config, []);
    expect(off.node.addons.map((a) => a.name)).toEqual(['coredns', 'svclb-traefik']);
    expect(off.available - on.available).toBe((70 + 8) * Mi);
  });

  test('steady requests plus the largest job must fit in RAM', () => {
    const manifests = [
      deployment('big', { containers: [container('app', '1000Mi', '1000Mi')] }),
      { kind: 'CronJob', metadata: { name: 'job', namespace: 'apps' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [container('c', '100Mi', '100Mi')] } } } } } },
    ];
    const report = computeBudget(config, manifests);
    expect(report.steadyRequests).toBe((1000 + 56) * Mi);
    expect(report.peakRequests).toBe((1000 + 56 + 100) * Mi);
    expect(report.problems[0]).toMatch(/^memory requests 1156Mi \(steady 1056Mi \+ largest job 100Mi\) exceed the \d+Mi the node leaves for the stack/);
  });

  test('zram gives back what the Burstable pods may swap, at the assumed ratio', () => {
    const manifests = [deployment('app', { containers: [container('app', '390Mi', '500Mi')] }), deployment('fixed', { containers: [container('app', '100Mi', '100Mi')] })];
    const report = computeBudget(config, manifests);
    // LimitedSwap: each Burstable container may swap request / MemTotal x swap size; the Guaranteed pod none
    const burstable = (390 + 56) * Mi;
    expect(report.node.zram.deviceSize).toBe(1950 * Mi);
    expect(report.node.zram.podSwapAllowance).toBe(Math.floor((burstable / (1950 * Mi)) * 1950 * Mi));
    expect(report.node.zram.gain).toBe(Math.floor(report.node.zram.podSwapAllowance / 2));
    expect(report.ramPlusZram).toBe(report.node.allocatable + report.node.zram.gain);
    const off = computeBudget(resolveConfig({ node: { zram: { enabled: false } } }), manifests);
    expect(off.node.zram.gain).toBe(0);
  });

  test('RAM + zram must hold every pod at its request and the largest excursion at its limit', () => {
    const manifests = [
      deployment('calm', { containers: [container('app', '100Mi', '120Mi')] }),
      deployment('spiky', { containers: [container('app', '100Mi', '1400Mi')] }),
    ];
    const report = computeBudget(config, manifests);
    expect(report.peaks).toEqual([{ workload: 'apps/spiky', excess: 1300 * Mi }]);
    expect(report.peakDemand).toBe(report.steadyRequests + 140 * Mi + 1300 * Mi);
    expect(report.problems).toEqual([expect.stringMatching(/^with apps\/spiky \(\+1300Mi\) at their memory limits, the node needs \d+Mi; RAM \+ zram hold \d+Mi/)]);
    const two = computeBudget(resolveConfig({ node: { concurrentPeaks: 2 } }), manifests);
    expect(two.peaks.map((p) => p.workload)).toEqual(['apps/spiky', 'kube-system/traefik']);
  });

  test('the error names the largest consumers and what to turn off, least important first', () => {
    const report = computeBudget(config, [deployment('hog', { containers: [container('app', '1500Mi', '1500Mi')] })]);
    const message = new BudgetError(report, config).message;
    expect(message).toMatch(/^memory budget exceeded \(profile 'board-2gb': /);
    expect(message).toContain('| apps/hog | Deployment | 1500Mi | 1500Mi |');
    expect(budgetTable(report).split('\n')[2]).toMatch(/^\| apps\/hog /);
    const full = resolveConfig({ profile: 'full' });
    const fullReport = computeBudget(full, manifestsOf(buildApp(full, '/nonexistent-outdir')));
    const advice = new BudgetError(fullReport, full).message.split('\n').find((l) => l.startsWith('To fit'))!;
    // optional tier (dashboards, management UIs) before alerting, alerting before the apps
    const order = ['grafana', 'prometheus', 'nextcloud'].map((c) => advice.indexOf(`${c} (`));
    expect(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]))).toBe(true);
  });
});

test('synthesis refuses an over-budget stack and writes nothing', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-budget-'));
  fs.writeFileSync(path.join(outdir, 'keep.yaml'), 'kept');
  const greedy = resolveConfig({ node: { memTotal: '1Gi' } });
  expect(() => synthesize(greedy, outdir)).toThrow(BudgetError);
  expect(fs.readFileSync(path.join(outdir, 'keep.yaml'), 'utf8')).toBe('kept');
});

test('the default profile fits the 2 GB board in RAM and in RAM + zram', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-budget-'));
  const report = synthesize(resolveConfig(), outdir);
  expect(report.problems).toEqual([]);
  expect(report.peakRequests).toBeLessThanOrEqual(report.available);
  expect(report.peakDemand).toBeLessThanOrEqual(report.ramPlusZram);
});

test('the full profile does not fit the 2 GB board, and the error says so', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-budget-'));
  expect(() => synthesize(resolveConfig({ profile: 'full' }), outdir)).toThrow(/memory budget exceeded \(profile 'full'/);
});

test('every synthesized pod of the full stack is sized under a component, and the component table adds up to the totals', () => {
  const config = resolveConfig({ profile: 'full' });
  const report = computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
  expect(report.pods.filter((p) => p.component.startsWith('(')).map((p) => p.workload)).toEqual([]);
  const rows = componentTable(report).split('\n').slice(2).map((line) => line.split('|').map((cell) => cell.trim()));
  const total = rows.reduce((sum, cells) => sum + Number(cells[3].replace('Mi', '')), 0);
  expect(total).toBe(report.steadyRequests / Mi);
  const size = (c: string, n: string) => config.components[c as 'kopia'].containers[n];
  // The snapshot pod's largest request: its maintenance-mode holder (a native sidecar) beside its largest step.
  const mi = (q: string) => Number(q.replace('Mi', ''));
  const snapshotPod = mi(size('kopia', 'nextcloud-maintenance').requests.memory) + mi(size('kopia', 'kopia-snapshot').requests.memory);
  expect(rows.find((cells) => cells[1] === 'kopia')).toEqual(['', 'kopia', '1', size('kopia', 'kopia').requests.memory, size('kopia', 'kopia').limits.memory, `${snapshotPod}Mi`, '']);
});

describe('memTotalNeeded', () => {
  const reportAt = (profile: 'board-2gb' | 'full', memTotal?: string) => {
    const config = resolveConfig({ profile, ...(memTotal ? { node: { memTotal } } : {}) });
    return computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
  };

  test.each(['board-2gb', 'full'] as const)('%s passes both checks at the MemTotal it needs and fails 1Mi below', (profile) => {
    const needed = memTotalNeeded(reportAt(profile)) / Mi;
    expect(reportAt(profile, `${needed}Mi`).problems).toEqual([]);
    expect(reportAt(profile, `${needed - 1}Mi`).problems.length).toBeGreaterThan(0);
  });

  test('the default board has room for board-2gb but not for full', () => {
    const board = reportAt('board-2gb');
    expect(memTotalNeeded(board)).toBeLessThanOrEqual(board.node.capacity);
    const full = reportAt('full');
    expect(memTotalNeeded(full)).toBeGreaterThan(full.node.capacity);
  });
});
