import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import type { BoardNode, K3sPod } from '../../../lib/board-node';
import type { PotatoStackConfig } from '../../../lib/config';
import { cidrRange, numberToIpv4 } from '../../../lib/config/cidr';
import { RunningControlPlane, RunningProcess, startControlPlane } from './control-plane';
import { installCrds } from './crds';
import { Kube, KubeObject, rejection } from './kube';
import { startKwok } from './kwok';
import { requireTool } from './tools';

/** A running simulated board: the control plane with its controllers, kwok as the node's kubelet. */
export interface SimulatedBoard {
  readonly plane: RunningControlPlane;
  readonly kwok: RunningProcess;
  readonly kube: Kube;
}

/**
 * Starts the simulated board for a stack: the real control plane with its controllers, the CRDs
 * k3s brings for `objects`, the Node `node` describes (kwok keeps it Ready and plays its pods),
 * and k3s's own system pods.
 */
export async function startBoard(title: string, config: PotatoStackConfig, objects: readonly KubeObject[], node: BoardNode): Promise<SimulatedBoard> {
  const plane = await startControlPlane({ controllers: true });
  let kwok: RunningProcess | undefined;
  try {
    const kube = await Kube.connect(plane.kubeconfig);
    console.log(`[${title}] control plane (apiserver, controller-manager, scheduler) ready in ${plane.startupMs} ms`);
    // What k3s brings: the Traefik and Helm controller CRDs, the node, its own pods.
    await installCrds(kube, objects);
    const created = await kube.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: node.name, labels: { ...node.labels } },
      spec: {},
      // A Node takes its status on create; kwok keeps it and adds conditions and addresses.
      status: { capacity: { ...node.capacity }, allocatable: { ...node.allocatable }, nodeInfo: { architecture: 'arm64', operatingSystem: 'linux' } },
    });
    if (created.status !== 201) throw new Error(`creating Node ${node.name}: ${rejection(created)}`);
    const [podRangeStart] = cidrRange(config.network.podCidr);
    const [nodeRangeStart] = cidrRange(config.network.nodeCidr ?? config.network.lanCidr);
    kwok = await startKwok(plane.kubeconfig, { nodeName: node.name, podCidr: `${numberToIpv4(podRangeStart)}/24`, nodeIp: numberToIpv4(nodeRangeStart + 2) });
    await waitUntil('the node becomes Ready and schedulable', async () => {
      const live = await get(kube, `/api/v1/nodes/${node.name}`);
      const ready = (live?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
      return ready && (live.spec.taints ?? []).length === 0 ? [] : [`Node ${node.name}: ready ${ready}, taints ${JSON.stringify(live?.spec?.taints ?? [])}`];
    });
    // The ServiceAccount admission plugin needs the namespace's `default` ServiceAccount.
    await waitUntil('kube-system/default ServiceAccount', async () => ((await get(kube, '/api/v1/namespaces/kube-system/serviceaccounts/default')) ? [] : ['missing']));
    // k3s's add-ons run before anything is applied; Traefik's pod follows our values, and its
    // priority class comes with dist/.
    await startK3sPods(kube, node, (p) => p.priorityClassName.startsWith('system-'));
    return { plane, kwok, kube };
  } catch (error) {
    // A board that did not come up is stopped here: nobody else holds its processes.
    await kwok?.stop();
    await plane.stop();
    throw error;
  }
}

/** k3s's own pods (not in dist/), as pause pods with the requests and priorities boardNode gives them. */
export async function startK3sPods(kube: Kube, node: BoardNode, which: (pod: K3sPod) => boolean): Promise<void> {
  for (const pod of node.k3sPods.filter(which)) {
    const result = await kube.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: pod.namespace, labels: { 'app.kubernetes.io/name': pod.name, 'potatostack.io/simulates': 'k3s-pod' } },
      spec: {
        automountServiceAccountToken: false,
        priorityClassName: pod.priorityClassName,
        containers: [{ name: pod.name, image: 'registry.k8s.io/pause:3.10', resources: { requests: { memory: `${pod.memoryRequest}`, cpu: `${pod.cpuRequest}m` } } }],
      },
    });
    if (result.status !== 201) throw new Error(`creating the stand-in for k3s's ${pod.name}: ${rejection(result)}`);
  }
}

/**
 * k3s deploys Traefik as a Deployment; on the board it is a pause pod with the request and priority
 * the stack gives it. Resolves once it is available.
 */
export async function startTraefik(kube: Kube, node: BoardNode): Promise<void> {
  const traefik = node.k3sPods.find((p) => p.name === 'traefik')!;
  const labels = { 'app.kubernetes.io/name': 'traefik', 'potatostack.io/simulates': 'k3s-pod' };
  const result = await kube.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'traefik', namespace: 'kube-system' },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          priorityClassName: traefik.priorityClassName,
          automountServiceAccountToken: false,
          containers: [{ name: 'traefik', image: 'registry.k8s.io/pause:3.10', resources: { requests: { memory: `${traefik.memoryRequest}` } } }],
        },
      },
    },
  } as KubeObject);
  if (result.status !== 201) throw new Error(`creating Traefik's stand-in: ${rejection(result)}`);
  await waitUntil('Traefik stand-in ready', async () => ((await get(kube, '/apis/apps/v1/namespaces/kube-system/deployments/traefik'))?.status?.availableReplicas === 1 ? [] : ['not yet']));
}

/** kubectl, one minor version from the control plane's 1.34 (its supported skew). */
export function kubectlBinary(): string {
  return requireTool('kubectl', 'KUBECTL', ['/usr/lib/google-cloud-sdk/bin/kubectl.1.33']);
}

/** Runs kubectl against a kubeconfig; the result carries stdout, stderr and the exit status. */
export function kubectl(kubeconfig: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(kubectlBinary(), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
}

/** The items of a list path (`/api/v1/pods`, ...); throws with the server's reason otherwise. */
export async function list(kube: Kube, path: string): Promise<any[]> {
  const result = await kube.request('GET', path);
  if (result.status !== 200) throw new Error(`GET ${path}: ${rejection(result)}`);
  return result.body.items ?? [];
}

/** One object, or undefined when it does not exist. */
export async function get(kube: Kube, path: string): Promise<any | undefined> {
  const result = await kube.request('GET', path);
  if (result.status === 404) return undefined;
  if (result.status !== 200) throw new Error(`GET ${path}: ${rejection(result)}`);
  return result.body;
}

/**
 * Polls `outstanding` (what is not there yet) until it returns nothing; on timeout fails with
 * the last list, so a failure names every object that did not get there.
 */
export async function waitUntil(what: string, outstanding: () => Promise<string[]>, timeoutMs = 120000, intervalMs = 500): Promise<number> {
  const started = Date.now();
  let last: string[] = [];
  while (Date.now() - started < timeoutMs) {
    last = await outstanding();
    if (last.length === 0) return Date.now() - started;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what}: still not done after ${timeoutMs} ms:\n  - ${last.join('\n  - ')}`);
}

export const id = (o: { kind?: string; metadata: { name: string; namespace?: string } }) =>
  `${o.kind ? `${o.kind} ` : ''}${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** Pods that are not Running or finished, each with the scheduler's reason. */
export async function pendingPods(kube: Kube): Promise<string[]> {
  return (await list(kube, '/api/v1/pods'))
    .filter((p) => p.status?.phase === 'Pending')
    .map((p) => {
      const scheduled = (p.status.conditions ?? []).find((c: any) => c.type === 'PodScheduled');
      return `Pod ${p.metadata.namespace}/${p.metadata.name} Pending${scheduled?.message ? `: ${scheduled.message}` : ''}`;
    });
}

/** What keeps each Deployment and DaemonSet of `objects` from being fully available on the node. */
export async function unreadyWorkloads(kube: Kube, objects: readonly KubeObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects.filter((x) => x.kind === 'Deployment')) {
    const live = await get(kube, `/apis/apps/v1/namespaces/${o.metadata.namespace}/deployments/${o.metadata.name}`);
    const want = live?.spec?.replicas ?? 1;
    const status = live?.status ?? {};
    const available = (status.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True');
    const current = status.observedGeneration >= live?.metadata?.generation && status.updatedReplicas === want;
    if (!live || !available || !current || status.availableReplicas !== want || (status.replicas ?? 0) !== want) {
      problems.push(`${id(o)}: ${live ? `${status.availableReplicas ?? 0}/${want} available, ${status.updatedReplicas ?? 0} updated, ${status.replicas ?? 0} in total` : 'missing'}`);
    }
  }
  for (const o of objects.filter((x) => x.kind === 'DaemonSet')) {
    const live = await get(kube, `/apis/apps/v1/namespaces/${o.metadata.namespace}/daemonsets/${o.metadata.name}`);
    const s = live?.status ?? {};
    // One node: exactly one pod, on it, ready.
    if (!live || s.desiredNumberScheduled !== 1 || s.currentNumberScheduled !== 1 || s.numberReady !== 1 || s.numberMisscheduled !== 0 || s.observedGeneration < live.metadata.generation) {
      problems.push(`${id(o)}: ${live ? `desired ${s.desiredNumberScheduled}, scheduled ${s.currentNumberScheduled}, ready ${s.numberReady}, misscheduled ${s.numberMisscheduled}` : 'missing'}`);
    }
  }
  return problems;
}

/** PVCs of `objects` that are not Bound to the PV they name, or whose PV does not point back. */
export async function unboundClaims(kube: Kube, objects: readonly KubeObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const claim of objects.filter((x) => x.kind === 'PersistentVolumeClaim')) {
    const live = await get(kube, `/api/v1/namespaces/${claim.metadata.namespace}/persistentvolumeclaims/${claim.metadata.name}`);
    const volumeName = claim.spec.volumeName;
    const pv = volumeName ? await get(kube, `/api/v1/persistentvolumes/${volumeName}`) : undefined;
    const ref = pv?.spec?.claimRef ?? {};
    if (!live || live.status?.phase !== 'Bound' || live.spec.volumeName !== volumeName) {
      problems.push(`${id(claim)}: ${live ? `${live.status?.phase}, volume '${live.spec.volumeName ?? ''}'` : 'missing'} (wants PV '${volumeName}')`);
    } else if (pv?.status?.phase !== 'Bound' || ref.namespace !== claim.metadata.namespace || ref.name !== claim.metadata.name || ref.uid !== live.metadata.uid) {
      problems.push(`${id(claim)}: PV ${volumeName} is ${pv?.status?.phase}, bound to ${ref.namespace}/${ref.name}`);
    }
  }
  return problems;
}

/** The long-running workload (`Deployment ns/name`, `DaemonSet ns/name`) that owns a pod. */
async function ownerOf(kube: Kube, pod: any): Promise<string> {
  const owner = (pod.metadata.ownerReferences ?? []).find((r: any) => r.controller);
  if (!owner) return `bare Pod ${pod.metadata.namespace}/${pod.metadata.name}`;
  if (owner.kind !== 'ReplicaSet') return `${owner.kind} ${pod.metadata.namespace}/${owner.name}`;
  const replicaSet = await get(kube, `/apis/apps/v1/namespaces/${pod.metadata.namespace}/replicasets/${owner.name}`);
  const top = (replicaSet?.metadata?.ownerReferences ?? []).find((r: any) => r.controller);
  return top ? `${top.kind} ${pod.metadata.namespace}/${top.name}` : `ReplicaSet ${pod.metadata.namespace}/${owner.name}`;
}

const POD_TEMPLATE_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet', 'CronJob', 'Job'];

function templateLabels(workload: KubeObject): Record<string, string> {
  const template = workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec.template : workload.spec.template;
  return template?.metadata?.labels ?? {};
}

/**
 * What is wrong with each Service's endpoints. Intended means: ready endpoints exist; they are
 * all the ready pods of exactly one long-running workload (never a Job's pod, never two
 * workloads behind one Service); the selector matches the pod template of that one workload
 * only, among `workloads` (so a CronJob's pods can never join); every Service port resolves
 * in those pods (a named targetPort the pod does not declare drops the endpoint).
 */
export async function serviceEndpointProblems(kube: Kube, services: readonly KubeObject[], workloads: readonly KubeObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const service of services) {
    const { namespace, name } = service.metadata;
    const selector: Record<string, string> = service.spec.selector ?? {};
    const where = `${id(service)} (selector ${JSON.stringify(selector)})`;
    const selected = workloads.filter(
      (w) => POD_TEMPLATE_KINDS.includes(w.kind) && w.metadata.namespace === namespace && Object.entries(selector).every(([k, v]) => templateLabels(w)[k] === v),
    );
    if (selected.length !== 1) problems.push(`${where}: selects the pod templates of ${selected.length === 0 ? 'no workload' : selected.map(id).join(' and ')}`);

    const slices = await list(kube, `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${name}`)}`);
    const portsByPod = new Map<string, Set<string>>();
    for (const slice of slices) {
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready !== true || endpoint.targetRef?.kind !== 'Pod') continue;
        const ports = portsByPod.get(endpoint.targetRef.name) ?? new Set<string>();
        for (const port of slice.ports ?? []) ports.add(port.name ?? '');
        portsByPod.set(endpoint.targetRef.name, ports);
      }
    }
    if (portsByPod.size === 0) {
      problems.push(`${where}: no ready endpoints: the selector matches no ready pod`);
      continue;
    }
    for (const [pod, ports] of portsByPod) {
      const missing = service.spec.ports.map((p: any) => p.name ?? '').filter((p: string) => !ports.has(p));
      if (missing.length > 0) problems.push(`${where}: pod ${pod} has no endpoint for port(s) ${missing.join(', ')} (targetPort not declared by the pod)`);
    }
    const pods = await list(kube, `/api/v1/namespaces/${namespace}/pods`);
    const owners = new Set<string>();
    for (const podName of portsByPod.keys()) {
      const pod = pods.find((p) => p.metadata.name === podName);
      owners.add(pod ? await ownerOf(kube, pod) : `vanished pod ${podName}`);
    }
    const owner = [...owners][0];
    if (owners.size !== 1 || !/^(Deployment|DaemonSet|StatefulSet) /.test(owner)) {
      problems.push(`${where}: endpoints belong to ${[...owners].join(' and ')}, not to one long-running workload`);
      continue;
    }
    // Every ready pod of that workload serves the Service.
    for (const pod of pods.filter((p) => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'))) {
      if (!portsByPod.has(pod.metadata.name) && (await ownerOf(kube, pod)) === owner) problems.push(`${where}: ready pod ${pod.metadata.name} of ${owner} is not an endpoint`);
    }
  }
  return problems;
}

/** A Service port referenced by name or number. */
export interface BackendRef {
  readonly from: string;
  readonly namespace: string;
  readonly service: string;
  readonly port: string | number;
}

/** Every Service an Ingress or a Traefik IngressRouteTCP routes to. */
export function ingressBackends(objects: readonly KubeObject[]): BackendRef[] {
  const refs: BackendRef[] = [];
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    if (o.kind === 'Ingress') {
      const backends = [o.spec.defaultBackend, ...(o.spec.rules ?? []).flatMap((r: any) => (r.http?.paths ?? []).map((p: any) => p.backend))].filter(Boolean);
      for (const b of backends) if (b.service) refs.push({ from: id(o), namespace: ns, service: b.service.name, port: b.service.port.name ?? b.service.port.number });
    } else if (o.kind === 'IngressRoute' || o.kind === 'IngressRouteTCP') {
      for (const route of o.spec.routes ?? []) for (const s of route.services ?? []) refs.push({ from: id(o), namespace: s.namespace ?? ns, service: s.name, port: s.port });
    }
  }
  return refs;
}

/** Backends that are not a Service with a ready endpoint on the referenced port. */
export async function backendProblems(kube: Kube, refs: readonly BackendRef[]): Promise<string[]> {
  const problems: string[] = [];
  for (const ref of refs) {
    const where = `${ref.from} -> Service ${ref.namespace}/${ref.service}:${ref.port}`;
    const service = await get(kube, `/api/v1/namespaces/${ref.namespace}/services/${ref.service}`);
    if (!service) {
      problems.push(`${where}: no such Service`);
      continue;
    }
    const port = service.spec.ports.find((p: any) => p.name === ref.port || p.port === ref.port);
    if (!port) {
      problems.push(`${where}: the Service has no such port`);
      continue;
    }
    const slices = await list(kube, `/apis/discovery.k8s.io/v1/namespaces/${ref.namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${ref.service}`)}`);
    const ready = slices.some((s) => (s.ports ?? []).some((p: any) => (p.name ?? '') === (port.name ?? '')) && (s.endpoints ?? []).some((e: any) => e.conditions?.ready === true));
    if (!ready) problems.push(`${where}: no ready endpoint on that port`);
  }
  return problems;
}
