import { computeBudget } from './budget';
import type { PotatoStackConfig } from './config';
import { memoryBytes } from './config/quantity';

/** CPU cores of the Le Potato (4x Cortex-A53). */
const BOARD_CPU = '4';
/** The kubelet's default `maxPods`; k3s keeps it. */
const BOARD_MAX_PODS = '110';

/** Resources of a Node as its status reports them. */
export interface NodeResources {
  readonly cpu: string;
  readonly memory: string;
  readonly pods: string;
}

/** A pod k3s runs on the board by itself: it is not in dist/, but its request takes allocatable. */
export interface K3sPod {
  readonly namespace: string;
  readonly name: string;
  /** Memory request in bytes. */
  readonly memoryRequest: number;
  /** CPU request in millicores (0 where the node model does not size it). */
  readonly cpuRequest: number;
}

/** The board as the Kubernetes scheduler sees it. */
export interface BoardNode {
  /** Node name: the hostname every hostPath PV pins to (`storage.nodeName`). */
  readonly name: string;
  /** The labels the kubelet of an arm64 Linux board sets. */
  readonly labels: Readonly<Record<string, string>>;
  readonly capacity: NodeResources;
  readonly allocatable: NodeResources;
  /** k3s's own pods (add-ons, and Traefik from its HelmChartConfig), which share allocatable with dist/. */
  readonly k3sPods: readonly K3sPod[];
}

/**
 * The board's Node derived from the node model; the one place that maps it to Kubernetes
 * resources (the simulated-board test builds its Node and k3s's pods from this).
 *
 * - capacity memory: physical RAM minus what firmware and kernel take before Linux counts it
 *   (MemTotal, which the kubelet reports as capacity);
 * - allocatable memory: capacity minus the OS userspace and the k3s server process. That is
 *   the memory the budget leaves for dist/'s workloads plus the requests of k3s's own pods:
 *   the budget subtracts those pods up front (they are not in dist/), while the scheduler sees
 *   them as pods taking allocatable like any other. `k3sPods` lists them so that a simulated
 *   node can carry them too, and then the scheduler's free memory equals the budget's headroom.
 * - cpu: the board's 4 cores; pods: the kubelet's default 110.
 */
export function boardNode(config: PotatoStackConfig): BoardNode {
  const { node } = config;
  const budget = computeBudget(config, []);
  const addonPods: K3sPod[] = Object.entries(node.addonPods).map(([name, request]) => ({
    namespace: 'kube-system',
    name,
    memoryRequest: bytes(request, `node.addonPods.${name}`),
    cpuRequest: 0,
  }));
  // With no manifests, the budget's pods are exactly those k3s deploys from our values (Traefik).
  const fromValues: K3sPod[] = budget.pods.map((p) => {
    const [namespace, name] = p.workload.split('/');
    return { namespace, name, memoryRequest: p.memoryRequest, cpuRequest: p.cpuRequest };
  });
  const allocatableMemory = budget.available + addonPods.reduce((sum, p) => sum + p.memoryRequest, 0);
  const capacityMemory = bytes(node.physicalMemory, 'node.physicalMemory') - bytes(node.kernelReserved, 'node.kernelReserved');
  return {
    name: config.storage.nodeName,
    labels: { 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': config.storage.nodeName },
    capacity: { cpu: BOARD_CPU, memory: `${capacityMemory}`, pods: BOARD_MAX_PODS },
    allocatable: { cpu: BOARD_CPU, memory: `${allocatableMemory}`, pods: BOARD_MAX_PODS },
    k3sPods: [...addonPods, ...fromValues],
  };
}

function bytes(quantity: string, prop: string): number {
  const value = memoryBytes(quantity);
  if (value === undefined) throw new Error(`${prop}: '${quantity}' is not a memory quantity`);
  return value;
}
