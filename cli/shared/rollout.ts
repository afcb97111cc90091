import type { Kube, KubeObject } from './kube';
import { CliError, objectName } from './project';

/** Milliseconds of a duration such as `90s`, `10m` or `1h`. */
export function parseDuration(value: string): number {
  const match = /^([0-9]+)(s|m|h)$/.exec(value);
  if (!match) throw new CliError(`'${value}' is not a duration; expected a number with s, m or h, such as 10m`);
  return Number(match[1]) * { s: 1000, m: 60000, h: 3600000 }[match[2] as 's' | 'm' | 'h'];
}

/** How far a workload's rollout is, from its live status; undefined for kinds without one. */
export interface RolloutState {
  readonly desired: number;
  readonly ready: number;
  /** The controller has seen the newest spec, every replica runs it and is available. */
  readonly done: boolean;
}

/** Rollout state of a Deployment, DaemonSet or StatefulSet (as `kubectl rollout status` judges it). */
export function rolloutState(object: KubeObject): RolloutState | undefined {
  const status = object.status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (object.metadata.generation ?? 1);
  switch (object.kind) {
    case 'Deployment': {
      const desired = object.spec?.replicas ?? 1;
      const ready = status.availableReplicas ?? 0;
      const done = observed && (status.updatedReplicas ?? 0) === desired && (status.replicas ?? 0) === desired && ready === desired;
      return { desired, ready, done };
    }
    case 'DaemonSet': {
      const desired = status.desiredNumberScheduled ?? 0;
      const ready = status.numberAvailable ?? 0;
      // A DaemonSet the controller has not looked at yet reports nothing: not done.
      const done = observed && status.desiredNumberScheduled !== undefined && (status.updatedNumberScheduled ?? 0) === desired && ready === desired;
      return { desired, ready, done };
    }
    case 'StatefulSet': {
      const desired = object.spec?.replicas ?? 1;
      const ready = status.readyReplicas ?? 0;
      const done = observed && (status.updatedReplicas ?? 0) === desired && ready === desired;
      return { desired, ready, done };
    }
    default:
      return undefined;
  }
}

/** Why a workload's pods are not ready, from their container states (e.g. `CreateContainerConfigError`, `Pending`). */
export async function podReasons(kube: Kube, workload: KubeObject): Promise<string[]> {
  const selector = workload.spec?.selector?.matchLabels as Record<string, string> | undefined;
  if (!selector) return [];
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await kube.list('v1', 'Pod', { namespace: workload.metadata.namespace, labelSelector });
  const reasons = new Set<string>();
  for (const pod of pods) {
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const s of statuses) {
      const waiting = s.state?.waiting;
      if (waiting?.reason && waiting.reason !== 'PodInitializing') reasons.add(`${s.name}: ${waiting.reason}${waiting.message ? ` (${String(waiting.message).slice(0, 200)})` : ''}`);
    }
    const unschedulable = (pod.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled' && c.status === 'False');
    if (unschedulable) reasons.add(`not scheduled: ${unschedulable.message ?? unschedulable.reason}`);
  }
  if (pods.length === 0) reasons.add('no pods');
  return [...reasons];
}

/**
 * Polls the workloads until every rollout is done or the time is up, printing a line whenever
 * one's ready count changes. Returns the workloads still not done (with their reasons printed).
 */
export async function waitForRollouts(kube: Kube, workloads: readonly KubeObject[], timeoutMs: number, print: (line: string) => void, intervalMs = 2000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const last = new Map<string, string>();
  let pending = [...workloads];
  print(`waiting up to ${Math.round(timeoutMs / 1000)} s for ${workloads.length} workloads to roll out`);
  for (;;) {
    const still: KubeObject[] = [];
    for (const workload of pending) {
      const live = await kube.get(workload.apiVersion, workload.kind, workload.metadata.name, workload.metadata.namespace);
      const state = live ? rolloutState(live) : undefined;
      const id = `${workload.kind} ${objectName(workload)}`;
      const text = state ? `${state.ready}/${state.desired} ready` : 'missing';
      if (state?.done) {
        print(`  ${id}: ${text}, rolled out`);
        continue;
      }
      if (last.get(id) !== text) print(`  ${id}: ${text}`);
      last.set(id, text);
      still.push(workload);
    }
    pending = still;
    if (pending.length === 0) {
      print('every workload rolled out');
      return [];
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  const names: string[] = [];
  for (const workload of pending) {
    const id = `${workload.kind} ${objectName(workload)}`;
    names.push(id);
    const reasons = await podReasons(kube, workload);
    print(`not rolled out: ${id}${reasons.length ? `: ${reasons.join('; ')}` : ''}`);
  }
  return names;
}
