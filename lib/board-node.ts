import { computeBudget } from './budget';
import { COMPONENTS, ComponentName, PotatoStackConfig } from './config';
import { memoryBytes } from './config/quantity';
import { kubeletConfiguration } from './host/k3s';

/** CPU cores of the Le Potato (4x Cortex-A53). */
const BOARD_CPU = '4';
/** The kubelet's default `maxPods`; k3s keeps it. */
const BOARD_MAX_PODS = '110';

/**
 * Priority classes of k3s's packaged add-on pods, from k3s's manifests (CoreDNS,
 * metrics-server) and ServiceLB's default class for its svclb pods. They are above every
 * class of the stack, so no pod of ours ever preempts them.
 */
const ADDON_PRIORITY: Readonly<Record<string, string>> = {
  coredns: 'system-cluster-critical',
  'metrics-server': 'system-node-critical',
};
const SERVICELB_PRIORITY = 'system-node-critical';

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
  /** CPU request in millicores (0: the node model sizes memory only). */
  readonly cpuRequest: number;
  /** Its priority class: a system class for k3s's add-ons, the stack's tier for Traefik. */
  readonly priorityClassName: string;
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
 * The storage node as its kubelet will report it with the generated k3s configuration, for
 * the stack `manifests` (the kubelet's kube-reserved grows with the number of pods): the one
 * place that turns the node model into Kubernetes terms.
 *
 * - capacity memory: MemTotal (`node.memTotal`), which the kubelet reports as capacity;
 * - allocatable memory: the kubelet's own rule, capacity minus system-reserved, kube-reserved
 *   and the hard eviction threshold, with the values of the generated KubeletConfiguration
 *   (dist/host/k3s/kubelet.yaml);
 * - `k3sPods`: the pods k3s runs from its own manifests and from our Traefik values. The
 *   budget subtracts their requests before the stack gets any memory; a simulated node that
 *   carries them leaves the scheduler exactly the budget's headroom;
 * - cpu: the board's 4 cores; pods: the kubelet's default 110.
 */
export function boardNode(config: PotatoStackConfig, manifests: Parameters<typeof computeBudget>[1]): BoardNode {
  const budget = computeBudget(config, manifests);
  const kubelet = kubeletConfiguration(config, budget.node) as {
    systemReserved: { memory: string };
    kubeReserved: { memory: string };
    evictionHard: Record<string, string>;
  };
  const capacity = budget.node.capacity;
  const allocatable =
    capacity - bytes(kubelet.systemReserved.memory, 'systemReserved') - bytes(kubelet.kubeReserved.memory, 'kubeReserved') - bytes(kubelet.evictionHard['memory.available'], 'evictionHard');
  const addons: K3sPod[] = budget.node.addons.map((addon) => {
    const priorityClassName = addon.name.startsWith('svclb-') ? SERVICELB_PRIORITY : ADDON_PRIORITY[addon.name];
    if (!priorityClassName) throw new Error(`k3s add-on '${addon.name}' has no known priority class: add it to ADDON_PRIORITY in lib/board-node.ts`);
    return { namespace: 'kube-system', name: addon.name, memoryRequest: addon.memoryRequest, cpuRequest: 0, priorityClassName };
  });
  // The budget's pods that are not in the manifests are the ones k3s deploys from our values (Traefik).
  const fromValues: K3sPod[] = budget.pods
    .filter((p) => p.kind === 'HelmChartConfig')
    .map((p) => {
      const [namespace, name] = p.workload.split('/');
      return { namespace, name, memoryRequest: p.memoryRequest, cpuRequest: p.cpuRequest, priorityClassName: COMPONENTS[p.component as ComponentName].priority };
    });
  return {
    name: config.storage.nodeName,
    labels: { 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': config.storage.nodeName },
    capacity: { cpu: BOARD_CPU, memory: `${capacity}`, pods: BOARD_MAX_PODS },
    allocatable: { cpu: BOARD_CPU, memory: `${allocatable}`, pods: BOARD_MAX_PODS },
    k3sPods: [...addons, ...fromValues],
  };
}

function bytes(quantity: string, field: string): number {
  const value = memoryBytes(quantity);
  if (value === undefined) throw new Error(`KubeletConfiguration ${field}: '${quantity}' is not a memory quantity`);
  return value;
}
