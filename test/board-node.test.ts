import { boardNode } from '../lib/board-node';
import { computeBudget } from '../lib/budget';
import { resolveConfig } from '../lib/config';
import { buildApp, manifestsOf } from '../lib/stack';

const Mi = 1024 ** 2;

describe('boardNode', () => {
  const config = resolveConfig();
  const node = boardNode(config);

  test('is named and labelled like the storage node of an arm64 Linux board', () => {
    expect(node.name).toBe('potato');
    expect(node.labels).toEqual({ 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'potato' });
    const renamed = boardNode(resolveConfig({ storage: { nodeName: 'lepotato' } }));
    expect([renamed.name, renamed.labels['kubernetes.io/hostname']]).toEqual(['lepotato', 'lepotato']);
  });

  test('capacity is what Linux sees; allocatable leaves out the OS and the k3s process', () => {
    // 2Gi - 100Mi kernel; then - 150Mi OS - 450Mi k3s (the default node model)
    expect(Number(node.capacity.memory)).toBe(1948 * Mi);
    expect(Number(node.allocatable.memory)).toBe(1348 * Mi);
    expect([node.capacity.cpu, node.capacity.pods, node.allocatable.cpu, node.allocatable.pods]).toEqual(['4', '110', '4', '110']);
  });

  test("k3s's own pods: the add-ons of the node model and Traefik at its component size", () => {
    expect(node.k3sPods.map((p) => [p.namespace, p.name, p.memoryRequest / Mi])).toEqual([
      ['kube-system', 'coredns', 70],
      ['kube-system', 'metrics-server', 70],
      ['kube-system', 'traefik', 48],
    ]);
    const npm = boardNode(resolveConfig({ ingress: { mode: 'nginx-proxy-manager' }, components: { portainer: { enabled: false } } }));
    expect(npm.k3sPods.map((p) => p.name)).toEqual(['coredns', 'metrics-server']);
  });

  test("the scheduler's free memory with k3s's pods placed equals the budget's steady headroom", () => {
    const budget = computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
    const distSteady = budget.pods.filter((p) => !p.transient && p.kind !== 'HelmChartConfig').reduce((sum, p) => sum + p.memoryRequest, 0);
    const k3s = node.k3sPods.reduce((sum, p) => sum + p.memoryRequest, 0);
    expect(Number(node.allocatable.memory) - k3s - distSteady).toBe(budget.available - budget.steadyRequests);
  });

  test('follows the node model: more RAM, more allocatable', () => {
    const bigger = boardNode(resolveConfig({ node: { physicalMemory: '4Gi' } }));
    expect(Number(bigger.allocatable.memory) - Number(node.allocatable.memory)).toBe(2048 * Mi);
  });
});
