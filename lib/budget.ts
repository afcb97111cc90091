import { COMPONENTS, ComponentName, PotatoStackConfig } from './config';
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

export interface BudgetReport {
  readonly pods: PodUsage[];
  /** Memory the node model leaves for workloads. */
  readonly available: number;
  readonly reservedLines: { name: string; memory: number }[];
  readonly steadyRequests: number;
  readonly peakRequests: number;
  readonly steadyLimits: number;
  readonly limitCeiling: number;
  readonly cpuRequests: number;
  readonly problems: string[];
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

/** Component whose sizes list a container of this name; the names are unique across components. */
export function componentOfContainer(name: string): ComponentName | undefined {
  return (Object.keys(COMPONENTS) as ComponentName[]).find((component) => name in COMPONENTS[component].containers);
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

/** Workloads k3s runs from our values (not in dist/ as pods), counted like our own. */
function externalPods(config: PotatoStackConfig): PodUsage[] {
  if (!config.components.traefik.enabled) return [];
  const size = config.components.traefik.containers.traefik;
  return [
    {
      workload: 'kube-system/traefik',
      component: 'traefik',
      kind: 'HelmChartConfig',
      transient: false,
      memoryRequest: memoryBytes(size.requests.memory) ?? 0,
      memoryLimit: memoryBytes(size.limits.memory) ?? 0,
      cpuRequest: cpuMillis(size.requests.cpu) ?? 0,
      cpuLimit: cpuMillis(size.limits.cpu) ?? 0,
    },
  ];
}

const mem = (q: string) => memoryBytes(q) ?? 0;

/** Sums everything synthesized against the node model. */
export function computeBudget(config: PotatoStackConfig, manifests: readonly Manifest[]): BudgetReport {
  const pods = [...podUsages(manifests), ...externalPods(config)];
  const { node } = config;
  const reservedLines = [
    { name: 'kernel and firmware', memory: mem(node.kernelReserved) },
    { name: 'OS userspace', memory: mem(node.osReserved) },
    { name: 'k3s server process', memory: mem(node.k3sReserved) },
    ...Object.entries(node.addonPods).map(([name, q]) => ({ name: `k3s add-on: ${name}`, memory: mem(q) })),
  ];
  const available = mem(node.physicalMemory) - reservedLines.reduce((sum, r) => sum + r.memory, 0);
  const steady = pods.filter((p) => !p.transient);
  const transientPeak = Math.max(0, ...pods.filter((p) => p.transient).map((p) => p.memoryRequest));
  const steadyRequests = steady.reduce((sum, p) => sum + p.memoryRequest, 0);
  const steadyLimits = steady.reduce((sum, p) => sum + p.memoryLimit, 0);
  const peakRequests = steadyRequests + transientPeak;
  const limitCeiling = available * node.limitOvercommit;
  const problems: string[] = [];
  if (peakRequests > available) {
    problems.push(
      `memory requests ${toMi(peakRequests)}Mi (steady ${toMi(steadyRequests)}Mi + largest job ${toMi(transientPeak)}Mi) exceed the ${toMi(available)}Mi the node model leaves for workloads`,
    );
  }
  if (steadyLimits > limitCeiling) {
    problems.push(`memory limits ${toMi(steadyLimits)}Mi exceed node.limitOvercommit (${node.limitOvercommit}) x ${toMi(available)}Mi = ${toMi(limitCeiling)}Mi`);
  }
  return {
    pods,
    available,
    reservedLines,
    steadyRequests,
    peakRequests,
    steadyLimits,
    limitCeiling,
    cpuRequests: steady.reduce((sum, p) => sum + p.cpuRequest, 0),
    problems,
  };
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

/** The totals against the node model, as a Markdown table. */
export function budgetSummary(report: BudgetReport): string {
  const lines = [
    '| node model | memory |',
    '|---|---:|',
    ...report.reservedLines.map((r) => `| reserved: ${r.name} | ${toMi(r.memory)}Mi |`),
    `| **left for workloads** | **${toMi(report.available)}Mi** |`,
    `| workload requests, steady | ${toMi(report.steadyRequests)}Mi |`,
    `| workload requests, with the largest job running | ${toMi(report.peakRequests)}Mi |`,
    `| headroom | ${toMi(report.available - report.peakRequests)}Mi |`,
    `| workload limits (ceiling ${toMi(report.limitCeiling)}Mi) | ${toMi(report.steadyLimits)}Mi |`,
    `| CPU requests (of 4000m) | ${report.cpuRequests}m |`,
  ];
  return lines.join('\n');
}

/** A budget failure: the problems and the largest consumers, so the operator knows what to shrink. */
export class BudgetError extends Error {
  constructor(report: BudgetReport) {
    super(`memory budget exceeded:\n${report.problems.map((p) => `  - ${p}`).join('\n')}\nLargest consumers:\n${budgetTable(report, 8)}\n\nShrink components.<name>.containers sizes, disable components, or correct the node model.`);
    this.name = 'BudgetError';
  }
}
