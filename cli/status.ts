import { THRESHOLDS } from '../lib/apps/monitoring/rules';
import { componentOfContainer } from '../lib/config';
import { memoryBytes } from '../lib/config/quantity';
import type { Kube, KubeObject } from './shared/kube';
import { objectName } from './shared/project';
import { connect, print, readSecrets, stackSecrets, type GlobalOptions } from './shared/context';
import { rolloutState } from './shared/rollout';
import { secretProblems, type RequiredSecret } from './shared/secret-catalog';

const WORKLOAD_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet', 'CronJob'];
/** The CronJob whose last success is the age of the last backup. */
export const BACKUP_CRONJOB = { namespace: 'apps', name: 'kopia-snapshot' };

/** What the cluster says about one workload (live object, its pods and their metrics). */
export interface WorkloadObservation {
  readonly workload: KubeObject;
  /** undefined when the workload does not exist in the cluster. */
  readonly live?: KubeObject;
  readonly pods: readonly KubeObject[];
  /** Memory in use per pod name (metrics.k8s.io), when the metrics API answers. */
  readonly podMemory?: ReadonlyMap<string, number>;
  /** Phase of each claim the pods mount. */
  readonly claims: ReadonlyMap<string, string | undefined>;
}

export interface LastTermination {
  readonly container: string;
  readonly reason: string;
  readonly exitCode: number;
  readonly finishedAt?: string;
}

export interface WorkloadStatus {
  readonly name: string;
  readonly kind: string;
  readonly ready?: number;
  readonly desired?: number;
  readonly restarts: number;
  readonly lastTermination?: LastTermination;
  readonly oomKilled: boolean;
  readonly memory?: { readonly usedBytes: number; readonly requestBytes: number; readonly limitBytes: number };
  readonly claims: Record<string, string>;
  readonly problems: string[];
}

export interface ComponentStatus {
  readonly component: string;
  readonly healthy: boolean;
  readonly workloads: WorkloadStatus[];
}

export interface BackupStatus {
  readonly lastSuccessfulTime?: string;
  readonly ageHours?: number;
  readonly healthy: boolean;
  readonly detail: string;
}

export interface StackStatus {
  readonly healthy: boolean;
  readonly components: ComponentStatus[];
  readonly backup?: BackupStatus;
  readonly secrets: string[];
}

function podSpecOf(workload: KubeObject): any {
  return workload.kind === 'CronJob' ? workload.spec?.jobTemplate?.spec?.template?.spec : workload.spec?.template?.spec;
}

/** Sum of one resource over the long-running containers of a pod spec (sidecars included). */
function podQuantity(spec: any, kind: 'requests' | 'limits'): number {
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always')];
  return containers.reduce((sum: number, c: any) => sum + (memoryBytes(String(c.resources?.[kind]?.memory ?? '0')) ?? 0), 0);
}

/** The most recent termination among the pods' containers (their `lastState`, or a finished state). */
export function lastTerminationOf(pods: readonly KubeObject[]): LastTermination | undefined {
  let latest: LastTermination | undefined;
  for (const pod of pods) {
    for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const t = s.lastState?.terminated ?? (s.state?.terminated?.reason !== 'Completed' ? s.state?.terminated : undefined);
      if (!t) continue;
      const candidate = { container: s.name, reason: t.reason ?? 'Error', exitCode: t.exitCode ?? 0, finishedAt: t.finishedAt };
      if (!latest || String(candidate.finishedAt ?? '') > String(latest.finishedAt ?? '')) latest = candidate;
    }
  }
  return latest;
}

/** One workload's status from what the cluster reported, and what is wrong with it. */
export function workloadStatus(observation: WorkloadObservation, secretIssues: readonly string[]): WorkloadStatus {
  const { workload, live, pods } = observation;
  const problems: string[] = [];
  const state = live ? rolloutState(live) : undefined;
  if (!live) problems.push('not in the cluster: run npx potatostack apply');
  else if (state && state.ready < state.desired) problems.push(`${state.ready}/${state.desired} ready`);
  const restarts = pods.reduce((sum, p) => sum + [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])].reduce((s: number, c: any) => s + (c.restartCount ?? 0), 0), 0);
  const lastTermination = lastTerminationOf(pods);
  const claims: Record<string, string> = {};
  for (const [claim, phase] of observation.claims) {
    claims[claim] = phase ?? 'missing';
    if (phase !== 'Bound') problems.push(`claim ${claim} is ${phase ?? 'missing'}`);
  }
  problems.push(...secretIssues);
  let memory: WorkloadStatus['memory'];
  if (observation.podMemory && workload.kind !== 'CronJob') {
    const spec = podSpecOf(workload);
    const used = pods.reduce((sum, p) => sum + (observation.podMemory!.get(p.metadata.name) ?? 0), 0);
    memory = { usedBytes: used, requestBytes: podQuantity(spec, 'requests') * Math.max(pods.length, 1), limitBytes: podQuantity(spec, 'limits') * Math.max(pods.length, 1) };
  }
  return {
    name: objectName(workload),
    kind: workload.kind,
    ready: state?.ready,
    desired: state?.desired,
    restarts,
    lastTermination,
    oomKilled: lastTermination?.reason === 'OOMKilled',
    memory,
    claims,
    problems,
  };
}

/** The backup's age from the snapshot CronJob: unhealthy past the alert's limit, or with no success long after creation. */
export function backupStatus(cronJob: KubeObject | undefined, now: Date): BackupStatus {
  const limit = THRESHOLDS.backupMaxAgeHours;
  if (!cronJob) return { healthy: false, detail: `CronJob ${BACKUP_CRONJOB.namespace}/${BACKUP_CRONJOB.name} does not exist` };
  const last = cronJob.status?.lastSuccessfulTime as string | undefined;
  if (!last) {
    const existedHours = (now.getTime() - new Date(cronJob.metadata.creationTimestamp ?? now).getTime()) / 3600000;
    return existedHours > limit
      ? { healthy: false, detail: `no successful backup in the ${Math.floor(existedHours)} h since the CronJob was created` }
      : { healthy: true, detail: 'no backup yet (the first runs tonight)' };
  }
  const ageHours = (now.getTime() - new Date(last).getTime()) / 3600000;
  return {
    lastSuccessfulTime: last,
    ageHours,
    healthy: ageHours <= limit,
    detail: `last successful backup ${ageHours.toFixed(1)} h ago${ageHours > limit ? `, older than ${limit} h` : ''}`,
  };
}

/** Groups workload statuses by the component their main container is sized under. */
export function componentStatuses(workloads: ReadonlyArray<{ workload: KubeObject; status: WorkloadStatus }>): ComponentStatus[] {
  const groups = new Map<string, WorkloadStatus[]>();
  for (const { workload, status } of workloads) {
    const main = podSpecOf(workload)?.containers?.[0]?.name ?? '';
    const component = componentOfContainer(main) ?? workload.metadata.name;
    groups.set(component, [...(groups.get(component) ?? []), status]);
  }
  return [...groups].map(([component, list]) => ({ component, healthy: list.every((w) => w.problems.length === 0), workloads: list }));
}

/** Memory in use per pod of a namespace from metrics.k8s.io, or undefined when the API is not served. */
async function podMemory(kube: Kube, namespace: string): Promise<Map<string, number> | undefined> {
  const result = await kube.request('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods`);
  if (result.status !== 200) return undefined;
  const map = new Map<string, number>();
  for (const item of result.body.items ?? []) {
    map.set(item.metadata.name, (item.containers ?? []).reduce((sum: number, c: any) => sum + (memoryBytes(String(c.usage?.memory ?? '0')) ?? 0), 0));
  }
  return map;
}

async function observe(kube: Kube, workload: KubeObject, metrics: Map<string, Map<string, number> | undefined>): Promise<WorkloadObservation> {
  const ns = workload.metadata.namespace!;
  const live = await kube.get(workload.apiVersion, workload.kind, workload.metadata.name, ns);
  const template = workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec.template : workload.spec.template;
  const labels = (template.metadata?.labels ?? {}) as Record<string, string>;
  const selector = workload.kind === 'CronJob' ? { 'app.kubernetes.io/name': labels['app.kubernetes.io/name'] } : (workload.spec.selector?.matchLabels ?? {});
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  // A finished job's pods are history: only running (or failing) ones count.
  const pods = (await kube.list('v1', 'Pod', { namespace: ns, labelSelector })).filter((p) => workload.kind !== 'CronJob' || p.status?.phase !== 'Succeeded');
  if (!metrics.has(ns)) metrics.set(ns, await podMemory(kube, ns));
  const claims = new Map<string, string | undefined>();
  for (const volume of template.spec?.volumes ?? []) {
    const claim = volume.persistentVolumeClaim?.claimName as string | undefined;
    if (claim) claims.set(claim, (await kube.get('v1', 'PersistentVolumeClaim', claim, ns))?.status?.phase);
  }
  return { workload, live, pods, podMemory: metrics.get(ns), claims };
}

/** The whole stack's status. */
export async function stackStatus(kube: Kube, workloads: readonly KubeObject[], required: readonly RequiredSecret[], now = new Date()): Promise<StackStatus> {
  const existing = await readSecrets(kube, required);
  const secrets = secretProblems(required, existing);
  const metrics = new Map<string, Map<string, number> | undefined>();
  const observed: Array<{ workload: KubeObject; status: WorkloadStatus }> = [];
  for (const workload of workloads) {
    const users = required.filter((r) => r.namespace === workload.metadata.namespace && r.usedBy.includes(workload.metadata.name));
    const issues = secretProblems(users, existing);
    observed.push({ workload, status: workloadStatus(await observe(kube, workload, metrics), issues) });
  }
  const components = componentStatuses(observed);
  const hasBackup = workloads.some((w) => w.kind === 'CronJob' && w.metadata.namespace === BACKUP_CRONJOB.namespace && w.metadata.name === BACKUP_CRONJOB.name);
  const backup = hasBackup ? backupStatus(await kube.get('batch/v1', 'CronJob', BACKUP_CRONJOB.name, BACKUP_CRONJOB.namespace), now) : undefined;
  const healthy = components.every((c) => c.healthy) && (backup?.healthy ?? true) && secrets.length === 0;
  return { healthy, components, backup, secrets };
}

const mi = (bytes: number) => `${Math.round(bytes / 1048576)}Mi`;

/** The status as lines for a terminal: a line per workload, its problems below it. */
export function formatStatus(status: StackStatus): string[] {
  const lines: string[] = [];
  for (const component of status.components) {
    lines.push(`${component.healthy ? 'ok  ' : 'FAIL'} ${component.component}`);
    for (const w of component.workloads) {
      const parts = [w.ready !== undefined ? `${w.ready}/${w.desired} ready` : w.kind, `restarts ${w.restarts}`];
      if (w.memory) parts.push(`memory ${mi(w.memory.usedBytes)} (request ${mi(w.memory.requestBytes)}, limit ${mi(w.memory.limitBytes)})`);
      const claims = Object.entries(w.claims);
      if (claims.length) parts.push(`claims ${claims.map(([c, p]) => `${c} ${p}`).join(', ')}`);
      lines.push(`     ${w.name}: ${parts.join(', ')}`);
      if (w.lastTermination) {
        const t = w.lastTermination;
        lines.push(`       ${w.oomKilled ? '!! OOMKilled' : 'last termination'}: ${t.container} ${w.oomKilled ? '' : `${t.reason} `}exit ${t.exitCode}${t.finishedAt ? ` at ${t.finishedAt}` : ''}${w.oomKilled ? ' (its memory limit is too small; see docs/operations.md)' : ''}`);
      }
      for (const p of w.problems) lines.push(`       problem: ${p}`);
    }
  }
  if (status.backup) lines.push(`${status.backup.healthy ? 'ok  ' : 'FAIL'} backup: ${status.backup.detail}`);
  lines.push(status.healthy ? 'stack healthy' : 'stack unhealthy');
  return lines;
}

export interface StatusOptions extends GlobalOptions {
  readonly output?: 'text' | 'json';
}

/** `potatostack status`: per component; exits non-zero when something is unhealthy. */
export async function statusCommand(options: StatusOptions): Promise<number> {
  const { config, dist, required } = stackSecrets(options);
  const workloads = dist.map((d) => d.object).filter((o) => WORKLOAD_KINDS.includes(o.kind));
  if (config.components.traefik.enabled) {
    // k3s deploys Traefik from its own chart; the stack only sizes it.
    workloads.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'traefik', namespace: 'kube-system' }, spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } }, template: { spec: { containers: [{ name: 'traefik', resources: config.components.traefik.containers.traefik }] } } } });
  }
  const kube = await connect(options);
  const status = await stackStatus(kube, workloads, required);
  if (options.output === 'json') print(JSON.stringify(status, null, 2));
  else for (const line of formatStatus(status)) print(line);
  return status.healthy ? 0 : 1;
}
