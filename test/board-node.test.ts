import { boardNode } from '../lib/board-node';
import { computeBudget } from '../lib/budget';
import { COMPONENTS, PotatoStackOverrides, resolveConfig } from '../lib/config';
import { kubeletConfigFile } from '../lib/host/k3s';
import { buildApp, manifestsOf } from '../lib/stack';

const Mi = 1024 ** 2;

function nodeOf(overrides: PotatoStackOverrides = {}) {
  const config = resolveConfig(overrides);
  const manifests = manifestsOf(buildApp(config, '/nonexistent-outdir'));
  return { config, manifests, node: boardNode(config, manifests), budget: computeBudget(config, manifests) };
}

describe('boardNode', () => {
  const { config, node, budget } = nodeOf();

  test('is named and labelled like the storage node of an arm64 Linux board', () => {
    expect(node.name).toBe('potato');
    expect(node.labels).toEqual({ 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'potato' });
    const renamed = nodeOf({ storage: { nodeName: 'lepotato' } }).node;
    expect([renamed.name, renamed.labels['kubernetes.io/hostname']]).toEqual(['lepotato', 'lepotato']);
  });

  test('capacity is MemTotal; allocatable is what the kubelet computes from the generated reservations', () => {
    expect(Number(node.capacity.memory)).toBe(1950 * Mi);
    // The kubelet file states its own sum: "allocatable = ... = <N>Mi" for the default stack.
    const stated = /allocatable = .* = (\d+)Mi/.exec(kubeletConfigFile(config, budget.node))![1];
    expect(Number(node.allocatable.memory)).toBe(Number(stated) * Mi);
    expect(Number(node.allocatable.memory)).toBe(budget.node.allocatable);
    expect([node.capacity.cpu, node.capacity.pods, node.allocatable.cpu, node.allocatable.pods]).toEqual(['4', '110', '4', '110']);
  });

  test("k3s's own pods: its add-ons at system priorities, and Traefik at its component size and tier", () => {
    const withMetrics = nodeOf({ node: { metricsServer: true } }).node;
    expect(withMetrics.k3sPods.map((p) => [p.namespace, p.name, p.memoryRequest / Mi, p.priorityClassName])).toEqual([
      ['kube-system', 'coredns', 70, 'system-cluster-critical'],
      ['kube-system', 'metrics-server', 70, 'system-node-critical'],
      ['kube-system', 'svclb-traefik', 0, 'system-node-critical'],
      ['kube-system', 'traefik', 56, COMPONENTS.traefik.priority],
    ]);
    // the 2 GB profile runs no metrics-server
    expect(node.k3sPods.map((p) => p.name)).toEqual(['coredns', 'svclb-traefik', 'traefik']);
    const lean = nodeOf({ ingress: { mode: 'nginx-proxy-manager' }, node: { metricsServer: false } }).node;
    expect(lean.k3sPods.map((p) => p.name)).toEqual(['coredns', 'svclb-nginx-proxy-manager']);
  });

  test("the scheduler's free memory with k3s's pods placed equals the budget's steady headroom", () => {
    const stackSteady = budget.pods.filter((p) => !p.transient && p.kind !== 'HelmChartConfig').reduce((sum, p) => sum + p.memoryRequest, 0);
    const k3s = node.k3sPods.reduce((sum, p) => sum + p.memoryRequest, 0);
    expect(Number(node.allocatable.memory) - k3s - stackSteady).toBe(budget.available - budget.steadyRequests);
  });

  test('follows the node model: more MemTotal, as much more allocatable', () => {
    const bigger = nodeOf({ node: { memTotal: '2950Mi' } }).node;
    expect(Number(bigger.allocatable.memory) - Number(node.allocatable.memory)).toBe(1000 * Mi);
  });
});
