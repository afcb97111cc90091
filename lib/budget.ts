import { COMPONENTS, ComponentName, PRIORITY_TIERS, PROFILES, PotatoStackConfig, componentOfContainer } from './config';
import { cpuMillis, memoryBytes, toMi } from './config/quantity';

/** Memory and CPU of one pod as the scheduler counts it. */
export interface PodUsage {
  /** `namespace/name` of the workload. */
  readonly workload: string;
  /** Component the pod's main container is sized under (lib/config/components.ts). */
  readonly component: string;
  readonly kind: string;
  /** Runs to completion (CronJob/Job): counted once, at the largest, on top of the steady load. */
  readonly transient: boolean;
  readonly memoryRequest: number;
  readonly memoryLimit: number;
  readonly cpuRequest: number;
  readonly cpuLimit: number;
}

interface ContainerJson {
  name: string;
  restartPolicy?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

interface PodSpecJson {
  containers?: ContainerJson[];
  initContainers?: ContainerJson[];
}

type Manifest = { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: Record<string, any> };

function quantity(container: ContainerJson, kind: 'requests' | 'limits', resource: 'cpu' | 'memory'): number {
  const value = container.resources?.[kind]?.[resource];
  if (value === undefined) return 0;
  const parsed = resource === 'cpu' ? cpuMillis(String(value)) : memoryBytes(String(value));
  if (parsed === undefined) throw new Error(`container ${container.name}: unparsable ${resource} ${kind} '${value}'`);
  return parsed;
}

/**
 * Effective pod value as Kubernetes computes it: sidecars and containers add up; a regular
 * init container only needs its own amount plus the sidecars started before it.
 */
function effective(spec: PodSpecJson, kind: 'requests' | 'limits', resource: 'cpu' | 'memory'): number {
  let sidecars = 0;
  let initPeak = 0;
  for (const c of spec.initContainers ?? []) {
    const amount = quantity(c, kind, resource);
    if (c.restartPolicy === 'Always') sidecars += amount;
    else initPeak = Math.max(initPeak, sidecars + amount);
  }
  const main = sidecars + (spec.containers ?? []).reduce((sum, c) => sum + quantity(c, kind, resource), 0);
  return Math.max(main, initPeak);
}

function podSpecOf(manifest: Manifest): { spec: PodSpecJson; transient: boolean } | undefined {
  switch (manifest.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
      return { spec: manifest.spec?.template?.spec ?? {}, transient: false };
    case 'Job':
      return { spec: manifest.spec?.template?.spec ?? {}, transient: true };
    case 'CronJob':
      return { spec: manifest.spec?.jobTemplate?.spec?.template?.spec ?? {}, transient: true };
    case 'Pod':
      return { spec: manifest.spec ?? {}, transient: false };
    default:
      return undefined;
  }
}

/** Pods of the synthesized manifests, each at one replica (single node: a DaemonSet is one pod). */
export function podUsages(manifests: readonly Manifest[]): PodUsage[] {
  const result: PodUsage[] = [];
  for (const manifest of manifests) {
    const pod = podSpecOf(manifest);
    if (!pod) continue;
    const replicas = manifest.kind === 'Deployment' || manifest.kind === 'StatefulSet' ? (manifest.spec?.replicas ?? 1) : 1;
    const workload = `${manifest.metadata?.namespace ?? 'default'}/${manifest.metadata?.name}`;
    const main = pod.spec.containers?.[0]?.name ?? '';
    result.push({
      workload,
      component: componentOfContainer(main) ?? `(no component sizes '${main}')`,
      kind: manifest.kind as string,
      transient: pod.transient,
      memoryRequest: replicas * effective(pod.spec, 'requests', 'memory'),
      memoryLimit: replicas * effective(pod.spec, 'limits', 'memory'),
      cpuRequest: replicas * effective(pod.spec, 'requests', 'cpu'),
      cpuLimit: replicas * effective(pod.spec, 'limits', 'cpu'),
    });
  }
  return result;
}

/**
 * Workloads others install that the stack sizes (not in dist/ as pods), counted like our own:
 * k3s's Traefik from our HelmChartConfig, and Flux's two controllers from the patches in
 * `<outdir>/gitops/flux-system/`.
 */
function externalPods(config: PotatoStackConfig): PodUsage[] {
  const external: { component: ComponentName; container: string; workload: string; kind: string }[] = [
    { component: 'traefik', container: 'traefik', workload: 'kube-system/traefik', kind: 'HelmChartConfig' },
    { component: 'flux', container: 'source-controller', workload: `${config.gitops.flux.namespace}/source-controller`, kind: 'Flux' },
    { component: 'flux', container: 'kustomize-controller', workload: `${config.gitops.flux.namespace}/kustomize-controller`, kind: 'Flux' },
  ];
  return external
    .filter((e) => config.components[e.component].enabled)
    .map((e) => {
      const size = config.components[e.component].containers[e.container];
      if (!size) throw new Error(`components.${e.component}.containers has no size for container '${e.container}'`);
      return {
        workload: e.workload,
        component: e.component,
        kind: e.kind,
        transient: false,
        memoryRequest: memoryBytes(size.requests.memory) ?? 0,
        memoryLimit: memoryBytes(size.limits.memory) ?? 0,
        cpuRequest: cpuMillis(size.requests.cpu) ?? 0,
        cpuLimit: cpuMillis(size.limits.cpu) ?? 0,
      };
    });
}

/** A pod k3s deploys from its own manifests: the scheduler counts its request like ours. */
export interface AddonPod {
  readonly name: string;
  readonly memoryRequest: number;
  /** Where the request comes from. */
  readonly source: string;
}

/**
 * k3s's packaged add-on pods, as its manifests size them (local-path-provisioner is disabled: every
 * PV is static). Their requests are larger than their use (CoreDNS ~7Mi, metrics-server ~9Mi,
 * k3s-io/k3s#1554), but the scheduler reserves the request.
 */
export function addonPods(config: PotatoStackConfig, manifests: readonly Manifest[]): AddonPod[] {
  const pods: AddonPod[] = [{ name: 'coredns', memoryRequest: 70 * Mi, source: 'k3s manifests/coredns.yaml' }];
  if (config.node.metricsServer) pods.push({ name: 'metrics-server', memoryRequest: 70 * Mi, source: 'k3s manifests/metrics-server' });
  // ServiceLB runs one svclb pod (no requests) per LoadBalancer Service: k3s's Traefik, or ours.
  const loadBalancers = manifests.filter((m) => m.kind === 'Service' && m.spec?.type === 'LoadBalancer').map((m) => m.metadata?.name ?? '');
  if (config.components.traefik.enabled) loadBalancers.push('traefik');
  for (const name of loadBalancers) pods.push({ name: `svclb-${name}`, memoryRequest: 0, source: 'k3s ServiceLB' });
  return pods;
}

const Mi = 1024 ** 2;
const mem = (q: string) => memoryBytes(q) ?? 0;

/** The storage node's memory as the kubelet will see it with the generated k3s configuration. */
export interface NodeMemory {
  /** MemTotal: the kubelet's memory capacity. */
  readonly capacity: number;
  /** Kubelet hard eviction threshold (memory.available). */
  readonly evictionHard: number;
  /** Kubelet system-reserved: OS userspace. */
  readonly systemReserved: number;
  /** Kubelet kube-reserved: the k3s server, containerd and one shim per pod. */
  readonly kubeReserved: number;
  /** Pods counted for shims: ours, k3s's add-ons and one job. */
  readonly podCount: number;
  /** capacity - eviction - system-reserved - kube-reserved: what the scheduler hands out. */
  readonly allocatable: number;
  readonly addons: AddonPod[];
  /** Allocatable minus the add-on pods' requests: what the stack's own pods may request. */
  readonly forWorkloads: number;
  /** zram: device size, how much of it pods may fill under LimitedSwap, and the RAM that gives back. */
  readonly zram: { readonly deviceSize: number; readonly podSwapAllowance: number; readonly gain: number };
}

/**
 * The node model applied to a set of pods. Kubelet reservations follow the model (lib/host/k3s.ts
 * writes them), so `allocatable` is the node's real allocatable. zram's gain counts only what the
 * stack's pods may swap under LimitedSwap (each Burstable container: its request / capacity x swap
 * size) at the configured compression ratio; swap of the OS and k3s itself is left out, as a margin.
 */
export function nodeMemory(config: PotatoStackConfig, pods: readonly PodUsage[], manifests: readonly Manifest[] = []): NodeMemory {
  const { node } = config;
  const addons = addonPods(config, manifests);
  const steadyPods = pods.filter((p) => !p.transient);
  const hasJob = pods.some((p) => p.transient);
  const podCount = steadyPods.length + addons.length + (hasJob ? 1 : 0);
  const capacity = mem(node.memTotal);
  const evictionHard = mem(node.evictionHard);
  const systemReserved = mem(node.osReserved);
  const kubeReserved = mem(node.k3sServer) + mem(node.containerd) + podCount * mem(node.shimPerPod);
  const allocatable = capacity - evictionHard - systemReserved - kubeReserved;
  const addonRequests = addons.reduce((sum, a) => sum + a.memoryRequest, 0);
  const deviceSize = node.zram.enabled ? Math.floor((capacity * node.zram.sizePercent) / 100) : 0;
  // k3s's add-ons run at system-critical priorities, and high-priority pods never swap.
  const burstableRequests = steadyPods.filter((p) => p.memoryRequest < p.memoryLimit).reduce((sum, p) => sum + p.memoryRequest, 0);
  const podSwapAllowance = capacity > 0 ? Math.floor((burstableRequests / capacity) * deviceSize) : 0;
  const gain = Math.floor(podSwapAllowance * (1 - 1 / node.zram.compressionRatio));
  return {
    capacity,
    evictionHard,
    systemReserved,
    kubeReserved,
    podCount,
    allocatable,
    addons,
    forWorkloads: allocatable - addonRequests,
    zram: { deviceSize, podSwapAllowance, gain },
  };
}

export interface BudgetReport {
  readonly pods: PodUsage[];
  readonly node: NodeMemory;
  /** Memory the stack's own pods may request: node allocatable minus k3s's add-on pods. */
  readonly available: number;
  readonly steadyRequests: number;
  /** Steady requests plus the largest job's request: what the scheduler must fit (RAM only). */
  readonly peakRequests: number;
  readonly steadyLimits: number;
  /** The pods that may peak at once and how far each goes above its request (a job: its whole limit). */
  readonly peaks: { workload: string; excess: number }[];
  /** Steady requests of all pods, add-ons included, plus the peaks: what RAM + zram must hold. */
  readonly peakDemand: number;
  /** Allocatable plus zram's gain. */
  readonly ramPlusZram: number;
  readonly cpuRequests: number;
  readonly problems: string[];
}

/** Sums everything synthesized against the node model: RAM only for the scheduler, RAM + zram for peaks. */
export function computeBudget(config: PotatoStackConfig, manifests: readonly Manifest[]): BudgetReport {
  const pods = [...podUsages(manifests), ...externalPods(config)];
  const node = nodeMemory(config, pods, manifests);
  const steady = pods.filter((p) => !p.transient);
  const transientPeak = Math.max(0, ...pods.filter((p) => p.transient).map((p) => p.memoryRequest));
  const steadyRequests = steady.reduce((sum, p) => sum + p.memoryRequest, 0);
  const steadyLimits = steady.reduce((sum, p) => sum + p.memoryLimit, 0);
  const peakRequests = steadyRequests + transientPeak;
  const excursions = pods
    .map((p) => ({ workload: p.workload, excess: p.transient ? p.memoryLimit : Math.max(0, p.memoryLimit - p.memoryRequest) }))
    .sort((a, b) => b.excess - a.excess || a.workload.localeCompare(b.workload));
  const peaks = excursions.slice(0, config.node.concurrentPeaks);
  const addonRequests = node.allocatable - node.forWorkloads;
  const peakDemand = steadyRequests + addonRequests + peaks.reduce((sum, p) => sum + p.excess, 0);
  const ramPlusZram = node.allocatable + node.zram.gain;
  const problems: string[] = [];
  if (peakRequests > node.forWorkloads) {
    problems.push(
      `memory requests ${toMi(peakRequests)}Mi (steady ${toMi(steadyRequests)}Mi + largest job ${toMi(transientPeak)}Mi) exceed the ${toMi(node.forWorkloads)}Mi the node leaves for the stack (allocatable ${toMi(node.allocatable)}Mi of MemTotal ${toMi(node.capacity)}Mi, minus k3s's add-on pods)`,
    );
  }
  if (peakDemand > ramPlusZram) {
    problems.push(
      `with ${peaks.map((p) => `${p.workload} (+${toMi(p.excess)}Mi)`).join(' and ')} at their memory limits, the node needs ${toMi(peakDemand)}Mi; RAM + zram hold ${toMi(ramPlusZram)}Mi (allocatable ${toMi(node.allocatable)}Mi + zram ${toMi(node.zram.gain)}Mi)`,
    );
  }
  return {
    pods,
    node,
    available: node.forWorkloads,
    steadyRequests,
    peakRequests,
    steadyLimits,
    peaks,
    peakDemand,
    ramPlusZram,
    cpuRequests: steady.reduce((sum, p) => sum + p.cpuRequest, 0),
    problems,
  };
}

/**
 * The smallest MemTotal (bytes, whole MiB) at which both checks pass, everything else in the node
 * model unchanged: the reservations, the add-ons and zram's gain (a share of the pods' requests)
 * do not depend on MemTotal, so each check needs MemTotal to cover its demand plus those.
 */
export function memTotalNeeded(report: BudgetReport): number {
  const { node } = report;
  const reserved = node.capacity - node.allocatable;
  const addonRequests = node.allocatable - node.forWorkloads;
  const forScheduler = report.peakRequests + addonRequests + reserved;
  const forPeaks = report.peakDemand - node.zram.gain + reserved;
  const mib = 1024 * 1024;
  return Math.ceil(Math.max(forScheduler, forPeaks) / mib) * mib;
}

/** Markdown table of every pod, largest request first, then the totals. */
export function budgetTable(report: BudgetReport, top?: number): string {
  const rows = [...report.pods].sort((a, b) => b.memoryRequest - a.memoryRequest || a.workload.localeCompare(b.workload));
  const shown = top === undefined ? rows : rows.slice(0, top);
  const lines = [
    '| workload | kind | memory request | memory limit | CPU request | CPU limit |',
    '|---|---|---:|---:|---:|---:|',
    ...shown.map(
      (p) =>
        `| ${p.workload}${p.transient ? ' (job)' : ''} | ${p.kind} | ${toMi(p.memoryRequest)}Mi | ${toMi(p.memoryLimit)}Mi | ${p.cpuRequest}m | ${p.cpuLimit}m |`,
    ),
  ];
  return lines.join('\n');
}

/** Requests and limits per component: steady pods, and the largest job of the component. */
export function componentTable(report: BudgetReport): string {
  const rows = new Map<string, { pods: number; request: number; limit: number; jobRequest: number }>();
  for (const p of report.pods) {
    const row = rows.get(p.component) ?? { pods: 0, request: 0, limit: 0, jobRequest: 0 };
    if (p.transient) row.jobRequest = Math.max(row.jobRequest, p.memoryRequest);
    else {
      row.pods += 1;
      row.request += p.memoryRequest;
      row.limit += p.memoryLimit;
    }
    rows.set(p.component, row);
  }
  const sorted = [...rows.entries()].sort((a, b) => b[1].request - a[1].request || a[0].localeCompare(b[0]));
  return [
    '| component | long-running pods | memory request | memory limit | largest job request |',
    '|---|---:|---:|---:|---:|',
    ...sorted.map(([name, r]) => `| ${name} | ${r.pods} | ${toMi(r.request)}Mi | ${toMi(r.limit)}Mi | ${r.jobRequest ? `${toMi(r.jobRequest)}Mi` : '-'} |`),
  ].join('\n');
}

/** The node model and both checks, as a Markdown table. */
export function budgetSummary(report: BudgetReport, config: PotatoStackConfig): string {
  const { node } = report;
  const { zram } = config.node;
  const mi = (bytes: number) => `${toMi(bytes)}Mi`;
  const lines = [
    '| node model | memory |',
    '|---|---:|',
    `| MemTotal (\`node.memTotal\`) | ${mi(node.capacity)} |`,
    `| kubelet hard eviction threshold | -${mi(node.evictionHard)} |`,
    `| system-reserved: OS userspace | -${mi(node.systemReserved)} |`,
    `| kube-reserved: k3s server ${config.node.k3sServer}, containerd ${config.node.containerd}, ${node.podCount} pods x ${config.node.shimPerPod} shim | -${mi(node.kubeReserved)} |`,
    `| **allocatable** (what the generated k3s configuration gives the scheduler) | **${mi(node.allocatable)}** |`,
    ...node.addons.filter((a) => a.memoryRequest > 0).map((a) => `| k3s add-on pod ${a.name} (request) | -${mi(a.memoryRequest)} |`),
    `| **left for the stack** | **${mi(report.available)}** |`,
    `| RAM only: requests, steady | ${mi(report.steadyRequests)} |`,
    `| RAM only: requests with the largest job running | ${mi(report.peakRequests)} |`,
    `| **RAM only: headroom** | **${mi(report.available - report.peakRequests)}** |`,
    zram.enabled
      ? `| zram: ${mi(node.zram.deviceSize)} device (${zram.algorithm}), pods may swap ${mi(node.zram.podSwapAllowance)} (LimitedSwap), at ${zram.compressionRatio}:1 that frees | +${mi(node.zram.gain)} |`
      : '| zram: off | +0Mi |',
    `| RAM + zram | ${mi(report.ramPlusZram)} |`,
    `| peak: every pod at its request, ${report.peaks.map((p) => `${p.workload} at its limit`).join(' and ')} | ${mi(report.peakDemand)} |`,
    `| **RAM + zram: headroom** | **${mi(report.ramPlusZram - report.peakDemand)}** |`,
    `| CPU requests (of 4000m) | ${report.cpuRequests}m |`,
  ];
  return lines.join('\n');
}

/** Steady and job requests per enabled component, largest first: what turning each off would give back. */
export function componentRequests(report: BudgetReport): { component: string; request: number }[] {
  const totals = new Map<string, number>();
  for (const p of report.pods) totals.set(p.component, (totals.get(p.component) ?? 0) + (p.transient ? 0 : p.memoryRequest));
  return [...totals.entries()].map(([component, request]) => ({ component, request })).sort((a, b) => b.request - a.request || a.component.localeCompare(b.component));
}

/** A budget failure: the problems, the largest consumers and what could be turned off. */
export class BudgetError extends Error {
  constructor(report: BudgetReport, config?: PotatoStackConfig) {
    const deficit = Math.max(report.peakRequests - report.available, report.peakDemand - report.ramPlusZram);
    // Least important first (priority tiers), then largest.
    const tierValue = (component: string) => PRIORITY_TIERS[COMPONENTS[component as ComponentName]?.priority ?? 'potatostack-critical'].value;
    const candidates = componentRequests(report)
      .filter((c) => c.component !== 'traefik' && c.component !== 'nginx-proxy-manager')
      .sort((a, b) => tierValue(a.component) - tierValue(b.component) || b.request - a.request);
    const drop: string[] = [];
    let freed = 0;
    for (const c of candidates) {
      if (freed >= deficit) break;
      drop.push(`${c.component} (${toMi(c.request)}Mi)`);
      freed += c.request;
    }
    const profile = config ? ` (profile '${config.profile}': ${PROFILES[config.profile].description})` : '';
    super(
      [
        `memory budget exceeded${profile}:`,
        ...report.problems.map((p) => `  - ${p}`),
        'Largest consumers:',
        budgetTable(report, 8),
        '',
        `To fit, turn off components (components.<name>.enabled: false), least important first: ${drop.join(', ')}; or set node.memTotal to the board's real MemTotal (grep MemTotal /proc/meminfo).`,
        'Requests are never lowered below their evidence (lib/config/evidence.ts).',
      ].join('\n'),
    );
    this.name = 'BudgetError';
  }
}
