/**
 * The simulated board: dist/ applied the way the README tells an operator to, onto the real
 * control plane (kube-apiserver, kube-controller-manager and kube-scheduler of one release, in
 * tools/bin/control-plane) with kwok playing the board's kubelet. The Node is the board as
 * lib/board-node.ts describes it, with k3s's own pods on it; everything after admission is the
 * real thing: scheduling against allocatable memory, PV binding with node affinity, controllers
 * creating pods, Services finding endpoints, CronJobs creating Jobs, RBAC.
 * No container runs: kwok marks scheduled pods Running and Ready and completes Jobs' pods.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { boardNode } from '../../lib/board-node';
import { computeBudget, podUsages } from '../../lib/budget';
import { PotatoStackOverrides, resolveConfig } from '../../lib/config';
import { cidrRange, numberToIpv4 } from '../../lib/config/cidr';
import { memoryBytes, toMi } from '../../lib/config/quantity';
import { secretReferences } from '../../lib/docs';
import { buildApp, manifestsOf, synthesize } from '../../lib/stack';
import { overrides } from '../../stack.config';
import {
  backendProblems,
  get,
  id,
  ingressBackends,
  kubectl,
  list,
  pendingPods,
  serviceEndpointProblems,
  unboundClaims,
  unreadyWorkloads,
  waitUntil,
} from './support/board';
import { RunningControlPlane, RunningProcess, startControlPlane } from './support/control-plane';
import { installCrds } from './support/crds';
import { Kube, KubeObject, loadManifests, rejection } from './support/kube';
import { startKwok } from './support/kwok';
import { ROOT } from './support/tools';

const DIST = path.join(ROOT, 'dist');
const config = resolveConfig(overrides); // what dist/ is synthesized from
const objects = loadManifests(DIST).map((m) => m.object);
const node = boardNode(config);
const Mi = 1024 ** 2;

let plane: RunningControlPlane;
let kwok: RunningProcess;
let kube: Kube;
let appliedAt = 0;

/** `kubectl apply --server-side -f DIR --recursive`, as the README says; returns the objects applied. */
function applyDir(dir: string): number {
  const run = kubectl(plane.kubeconfig, ['apply', '--server-side', '--field-manager=potatostack', '-f', dir, '--recursive']);
  if (run.status !== 0) throw new Error(`kubectl apply -f ${dir} failed (${run.status}):\n${run.stderr}`);
  return run.stdout.split('\n').filter((l) => /serverside-applied/.test(l)).length;
}

/** kubectl's stderr without the Pod Security warnings a namespace's `warn` level asks for. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('Warning: would violate PodSecurity'));
}

/** Everything running on the board: workloads available, claims bound, no pod Pending. */
async function stackNotReady(stack: readonly KubeObject[]): Promise<string[]> {
  return [...(await unreadyWorkloads(kube, stack)), ...(await unboundClaims(kube, stack)), ...(await pendingPods(kube))];
}

/** Sum of the memory requests of the pods the scheduler has placed on the node and that still hold it. */
async function requestedOnNode(): Promise<{ pod: string; memory: number }[]> {
  const usages: { pod: string; memory: number }[] = [];
  for (const pod of await list(kube, `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node.name}`)}`)) {
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const [usage] = podUsages([{ ...pod, kind: 'Pod' }]); // list items carry no kind
    usages.push({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, memory: usage.memoryRequest });
  }
  return usages;
}

/** k3s's own pods (not in dist/), as pause pods with the requests the node model gives them. */
function k3sPod(pod: (typeof node.k3sPods)[number]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, labels: { 'app.kubernetes.io/name': pod.name, 'potatostack.io/simulates': 'k3s-pod' } },
    spec: {
      automountServiceAccountToken: false,
      containers: [{ name: pod.name, image: 'registry.k8s.io/pause:3.10', resources: { requests: { memory: `${pod.memoryRequest}`, cpu: `${pod.cpuRequest}m` } } }],
    },
  };
}

beforeAll(async () => {
  plane = await startControlPlane({ controllers: true });
  kube = await Kube.connect(plane.kubeconfig);
  console.log(`control plane (apiserver, controller-manager, scheduler) ready in ${plane.startupMs} ms at ${plane.url}`);
  // What k3s brings: the Traefik and Helm controller CRDs, the node, its own pods.
  await installCrds(kube, objects);
  const created = await kube.create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: { ...node.labels } },
    spec: {},
    // Nodes take their status on create; kwok keeps it and adds conditions and addresses.
    status: { capacity: { ...node.capacity }, allocatable: { ...node.allocatable }, nodeInfo: { architecture: 'arm64', operatingSystem: 'linux' } },
  } as KubeObject);
  if (created.status !== 201) throw new Error(`creating Node ${node.name}: ${rejection(created)}`);
  const [podRangeStart] = cidrRange(config.network.podCidr);
  const [lanStart] = cidrRange(config.network.nodeCidr ?? config.network.lanCidr);
  kwok = await startKwok(plane.kubeconfig, { nodeName: node.name, podCidr: `${numberToIpv4(podRangeStart)}/24`, nodeIp: numberToIpv4(lanStart + 2) });
  await waitUntil('the node becomes Ready and schedulable', async () => {
    const live = await get(kube, `/api/v1/nodes/${node.name}`);
    const ready = (live?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
    return ready && (live.spec.taints ?? []).length === 0 ? [] : [`Node ${node.name}: ready ${ready}, taints ${JSON.stringify(live?.spec?.taints ?? [])}`];
  });
  // The ServiceAccount admission plugin needs the namespace's `default` ServiceAccount.
  await waitUntil('kube-system/default ServiceAccount', async () => ((await get(kube, '/api/v1/namespaces/kube-system/serviceaccounts/default')) ? [] : ['missing']));
  for (const pod of node.k3sPods) {
    const result = await kube.create(k3sPod(pod));
    if (result.status !== 201) throw new Error(`creating the stand-in for k3s's ${pod.name}: ${rejection(result)}`);
  }
  await waitUntil("k3s's pods run", () => pendingPods(kube));
}, 300000);

afterAll(async () => {
  await kwok?.stop();
  await plane?.stop();
});

describe('dist/ on the simulated board', () => {
  test('applies the way the README says: the Secrets first, then kubectl apply --server-side of dist/', () => {
    // The Secrets' namespaces are created by dist/ itself; an operator creating the Secrets
    // first makes them by hand, and the apply then takes them over.
    const refs = secretReferences(config, objects);
    expect(refs.length).toBeGreaterThan(0);
    for (const namespace of new Set(refs.map((r) => r.namespace))) {
      if (namespace === 'kube-system') continue;
      const run = kubectl(plane.kubeconfig, ['create', 'namespace', namespace]);
      if (run.status !== 0) throw new Error(run.stderr);
    }
    for (const ref of refs) {
      // Dummy values: kwok starts no container, so only the Secret's existence and keys matter here.
      // Mounted-whole Secrets get one key; their real keys are in the component's README section.
      const keys = ref.keys.length > 0 ? ref.keys : ['placeholder'];
      const tls = ref.keys.includes('tls.crt') && ref.keys.includes('tls.key') ? ['--type=kubernetes.io/tls'] : [];
      const run = kubectl(plane.kubeconfig, ['create', 'secret', 'generic', ref.name, '-n', ref.namespace, ...tls, ...keys.map((k) => `--from-literal=${k}=${Math.random().toString(36).slice(2)}`)]);
      if (run.status !== 0) throw new Error(`creating Secret ${ref.namespace}/${ref.name}: ${run.stderr}`);
    }
    appliedAt = Date.now();
    const applied = applyDir(DIST);
    console.log(`created ${refs.length} Secrets; kubectl apply --server-side: ${applied} objects applied (dist/ holds ${objects.length})`);
    expect(applied).toBe(objects.length);
  });

  test('the whole stack becomes Ready: every Deployment Available, every DaemonSet scheduled, every PVC Bound, 0 Pending', async () => {
    await waitUntil('the stack on the simulated board', () => stackNotReady(objects), 180000);
    const readyMs = Date.now() - appliedAt;
    const deployments = objects.filter((o) => o.kind === 'Deployment').length;
    const daemonSets = objects.filter((o) => o.kind === 'DaemonSet').length;
    const claims = objects.filter((o) => o.kind === 'PersistentVolumeClaim').length;
    const pods = (await list(kube, '/api/v1/pods')).filter((p) => p.status.phase === 'Running').length;
    console.log(`stack Ready ${readyMs} ms after the apply: ${deployments} Deployments Available, ${daemonSets} DaemonSets scheduled, ${claims} PVCs Bound, ${pods} pods Running, 0 Pending`);
    expect(await pendingPods(kube)).toEqual([]);
    expect(await unreadyWorkloads(kube, objects)).toEqual([]);
  });

  test('every PVC is Bound to the PV it names, and that PV is pinned to this node', async () => {
    expect(await unboundClaims(kube, objects)).toEqual([]);
    for (const pv of objects.filter((o) => o.kind === 'PersistentVolume')) {
      const terms = pv.spec.nodeAffinity.required.nodeSelectorTerms;
      expect(terms.flatMap((t: any) => t.matchExpressions.flatMap((e: any) => e.values))).toEqual([node.name]);
    }
  });

  test('every Service has endpoints, and they are the pods of the one workload it fronts', async () => {
    const services = objects.filter((o) => o.kind === 'Service');
    expect(services.length).toBeGreaterThan(0);
    expect(await serviceEndpointProblems(kube, services, objects)).toEqual([]);
  });

  test('every Ingress (and Traefik TCP route) backend is a Service with a ready endpoint on its port', async () => {
    const refs = ingressBackends(objects);
    expect(refs.length).toBe(objects.filter((o) => o.kind === 'Ingress').length + objects.filter((o) => o.kind === 'IngressRouteTCP').length);
    expect(await backendProblems(kube, refs)).toEqual([]);
  });

  test("the node's allocatable against the pods' requests: the scheduler counts what the budget counts", async () => {
    const budget = computeBudget(config, objects);
    const placed = await requestedOnNode();
    const k3sNames = new Set(node.k3sPods.map((p) => `${p.namespace}/${p.name}`));
    const k3s = placed.filter((p) => k3sNames.has(p.pod)).reduce((s, p) => s + p.memory, 0);
    const stack = placed.filter((p) => !k3sNames.has(p.pod)).reduce((s, p) => s + p.memory, 0);
    const allocatable = Number(node.allocatable.memory);
    const free = allocatable - k3s - stack;
    console.log(
      [
        `node ${node.name}: capacity ${toMi(Number(node.capacity.memory))}Mi, allocatable ${toMi(allocatable)}Mi, cpu ${node.allocatable.cpu}, pods ${node.allocatable.pods}`,
        `  k3s's own pods (${node.k3sPods.map((p) => p.name).join(', ')}): ${toMi(k3s)}Mi requested`,
        `  dist/ pods (${placed.length - node.k3sPods.length}): ${toMi(stack)}Mi requested`,
        `  free for the scheduler: ${toMi(free)}Mi; budget headroom: steady ${toMi(budget.available - budget.steadyRequests)}Mi, with the largest job ${toMi(budget.available - budget.peakRequests)}Mi`,
      ].join('\n'),
    );
    expect(free).toBe(budget.available - budget.steadyRequests);
    expect(budget.peakRequests).toBeLessThanOrEqual(budget.available);
  });

  test('each CronJob, triggered by hand, creates a Job whose pod is scheduled on the board and completes', async () => {
    const cronJobs = objects.filter((o) => o.kind === 'CronJob');
    expect(cronJobs.length).toBeGreaterThan(0);
    // One at a time: the budget reserves room for the largest job, not for all of them at once.
    for (const cronJob of cronJobs) {
      const { name } = cronJob.metadata;
      const namespace = cronJob.metadata.namespace!;
      const job = `${name}-manual`;
      const run = kubectl(plane.kubeconfig, ['create', 'job', '-n', namespace, `--from=cronjob/${name}`, job]);
      expect({ status: run.status, errors: errorLines(run.stderr) }).toEqual({ status: 0, errors: [] });
      const ms = await waitUntil(`Job ${namespace}/${job}`, async () => {
        const pods = await list(kube, `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`job-name=${job}`)}`);
        const scheduled = pods.filter((p) => p.spec.nodeName === node.name && (p.status.conditions ?? []).some((c: any) => c.type === 'PodScheduled' && c.status === 'True'));
        const done = await get(kube, `/apis/batch/v1/namespaces/${namespace}/jobs/${job}`);
        const complete = (done?.status?.conditions ?? []).some((c: any) => c.type === 'Complete' && c.status === 'True');
        return scheduled.length > 0 && complete ? [] : [`${pods.length} pod(s), ${scheduled.length} scheduled on ${node.name}, complete: ${complete}; ${(await pendingPods(kube)).join('; ')}`];
      });
      console.log(`CronJob ${namespace}/${name}: Job ${job} scheduled and complete in ${ms} ms`);
    }
    expect(await pendingPods(kube)).toEqual([]);
  });
});

/** Grants as `verb group/resource` (core group: `core`) and `verb url:/path`. */
type Grant = string;

/** What each ServiceAccount of the stack needs, from what its app does with the API (README, "Kubernetes API access"). */
const NEEDS: Record<string, { grants: Grant[]; mustNot: Grant[] }> = {
  'apps/homepage': {
    // Pod status and usage per service, cluster and node widgets.
    grants: expand(['get', 'list'], ['core/namespaces', 'core/pods', 'core/nodes', 'metrics.k8s.io/nodes', 'metrics.k8s.io/pods']),
    mustNot: ['get core/secrets', 'list core/secrets', 'get core/pods/log', 'create core/pods/exec', 'list core/configmaps', 'delete core/pods'],
  },
  'monitoring/prometheus': {
    // Service discovery of pods, services and endpoint slices; kubelet and cAdvisor metrics via nodes/metrics.
    grants: [
      ...expand(['get', 'list', 'watch'], ['core/nodes', 'core/nodes/metrics', 'core/services', 'core/pods', 'discovery.k8s.io/endpointslices']),
      'get url:/metrics',
    ],
    mustNot: ['get core/secrets', 'list core/configmaps', 'get core/nodes/proxy', 'create core/pods/exec', 'list core/endpoints'],
  },
  'monitoring/kube-state-metrics': {
    // Exactly the objects whose metric families the rules and dashboards read.
    grants: expand(['list', 'watch'], ['core/pods', 'core/nodes', 'core/persistentvolumeclaims', 'core/persistentvolumes', 'core/namespaces', 'apps/deployments', 'apps/daemonsets', 'batch/cronjobs', 'batch/jobs']),
    mustNot: ['list core/secrets', 'list core/configmaps', 'get core/pods', 'list apps/replicasets', 'create core/pods/exec'],
  },
  'management/portainer': {
    // Portainer's Kubernetes mode manages the cluster: cluster-admin, documented as such.
    grants: ['* */*', '* url:*'],
    mustNot: [],
  },
  'management/dozzle': {
    // Live logs of every pod, and node and pod usage.
    grants: [...expand(['get', 'list', 'watch'], ['core/pods']), 'get core/pods/log', ...expand(['get', 'list'], ['core/nodes', 'metrics.k8s.io/pods', 'metrics.k8s.io/nodes'])],
    mustNot: ['get core/secrets', 'list core/secrets', 'create core/pods/exec', 'delete core/pods', 'get core/configmaps', 'get core/nodes/proxy', 'create core/pods/attach'],
  },
  'management/diun': {
    // The images of running pods.
    grants: expand(['get', 'list', 'watch'], ['core/pods']),
    mustNot: ['get core/secrets', 'get core/pods/log', 'list apps/deployments', 'create core/pods/exec'],
  },
};

function expand(verbs: string[], resources: string[]): Grant[] {
  return verbs.flatMap((v) => resources.map((r) => `${v} ${r}`));
}

const saUser = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;
const saGroups = (ns: string) => ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'];

/** Everything an identity may do in `namespace` (including cluster-wide grants), from a SelfSubjectRulesReview as that identity. */
async function grantsIn(ns: string, name: string, namespace: string): Promise<Set<Grant>> {
  const review = await kube.request(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
    { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } },
    'application/json',
    { 'Impersonate-User': saUser(ns, name), 'Impersonate-Group': saGroups(ns) },
  );
  if (review.status !== 201) throw new Error(`rules review as ${saUser(ns, name)}: ${rejection(review)}`);
  const grants = new Set<Grant>();
  for (const rule of review.body.status.resourceRules ?? []) {
    if ((rule.resourceNames ?? []).length > 0) continue; // name-scoped grants are not broad access
    for (const verb of rule.verbs) for (const group of rule.apiGroups ?? ['']) for (const resource of rule.resources ?? []) grants.add(`${verb} ${group === '' ? 'core' : group}/${resource}`);
  }
  for (const rule of review.body.status.nonResourceRules ?? []) for (const verb of rule.verbs) for (const url of rule.nonResourceURLs ?? []) grants.add(`${verb} url:${url}`);
  return grants;
}

/** A SubjectAccessReview for a grant, cluster-wide (`namespace` empty) or in one namespace. */
async function allowed(ns: string, name: string, grant: Grant, namespace = ''): Promise<boolean> {
  const [verb, target] = grant.split(' ');
  const attributes = target.startsWith('url:')
    ? { nonResourceAttributes: { verb, path: target.slice(4) } }
    : (() => {
        const [group, resource, subresource] = target.split('/');
        return { resourceAttributes: { verb, group: group === 'core' ? '' : group, resource, subresource, namespace } };
      })();
  const review = await kube.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: saUser(ns, name), groups: saGroups(ns), ...attributes },
  });
  if (review.status !== 201) throw new Error(`access review ${grant} for ${saUser(ns, name)}: ${rejection(review)}`);
  return review.body.status.allowed === true;
}

const accounts = () => objects.filter((o) => o.kind === 'ServiceAccount').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
const namespaces = () => ['default', 'kube-system', ...objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)];

/** Grants an account has beyond what every ServiceAccount gets and that it does not need, and needed grants it lacks, per namespace. */
async function grantDifferences(account: string): Promise<string[]> {
  const [ns, name] = account.split('/');
  const differences: string[] = [];
  for (const namespace of namespaces()) {
    // An account nothing is bound to shows what every ServiceAccount of that namespace gets.
    const baseline = await grantsIn(ns, 'no-binding-at-all', namespace);
    const has = [...(await grantsIn(ns, name, namespace))].filter((g) => !baseline.has(g));
    for (const g of has.filter((g) => !NEEDS[account].grants.includes(g)).sort()) differences.push(`in ${namespace}: may also ${g}`);
    for (const g of NEEDS[account].grants.filter((g) => !has.includes(g))) differences.push(`in ${namespace}: may not ${g}`);
  }
  return differences;
}

describe('each ServiceAccount is allowed exactly what it needs', () => {

  test('the stack has a need listed for every ServiceAccount it creates, and no other', () => {
    expect(accounts().sort()).toEqual(Object.keys(NEEDS).sort());
  });

  test('what each one may do, in every namespace, is its needs plus what every ServiceAccount gets', async () => {
    for (const account of accounts()) expect({ account, differences: await grantDifferences(account) }).toEqual({ account, differences: [] });
    console.log(`RBAC per ServiceAccount (rules reviews in ${namespaces().length} namespaces): ${accounts().map((a) => `${a}: ${NEEDS[a].grants.length} grants`).join('; ')}`);
  });

  test('each grant it needs is allowed cluster-wide, by a SubjectAccessReview', async () => {
    for (const account of accounts()) {
      const [ns, name] = account.split('/');
      const denied = [];
      for (const grant of NEEDS[account].grants.filter((g) => !g.includes('*'))) if (!(await allowed(ns, name, grant))) denied.push(grant);
      expect({ account, denied }).toEqual({ account, denied: [] });
    }
    // Portainer's wildcard, spelled out on the most sensitive object: it can read every Secret.
    expect(await allowed('management', 'portainer', 'get core/secrets', 'kube-system')).toBe(true);
  });

  test('and a sample of what it must not do is denied in every namespace (Dozzle cannot read Secrets, ...)', async () => {
    for (const account of accounts()) {
      const [ns, name] = account.split('/');
      const permitted: string[] = [];
      for (const grant of NEEDS[account].mustNot) {
        for (const namespace of ['', ...namespaces()]) if (await allowed(ns, name, grant, namespace)) permitted.push(`${grant} in '${namespace}'`);
      }
      expect({ account, permitted }).toEqual({ account, permitted: [] });
    }
  });

  test("the pods' default ServiceAccounts get nothing beyond what every ServiceAccount gets", async () => {
    for (const namespace of objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)) {
      const baseline = await grantsIn(namespace, 'no-binding-at-all', namespace);
      const extra = [...(await grantsIn(namespace, 'default', namespace))].filter((g) => !baseline.has(g));
      expect({ namespace, extra }).toEqual({ namespace, extra: [] });
      expect(await allowed(namespace, 'default', 'get core/secrets', namespace)).toBe(false);
    }
  });
});

describe('the checks fail visibly', () => {
  /** Runs `check` while a copy of dozzle's Service with a typo in its selector exists. */
  async function withTypoService(check: (typo: KubeObject) => Promise<void>): Promise<void> {
    const typo: KubeObject = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'Service' && o.metadata.name === 'dozzle')!));
    typo.metadata.name = 'dozzle-typo';
    typo.spec.selector['app.kubernetes.io/instance'] = 'dozle';
    expect((await kube.create(typo)).status).toBe(201);
    try {
      await check(typo);
    } finally {
      await kube.request('DELETE', '/api/v1/namespaces/management/services/dozzle-typo');
    }
  }

  test('a Service whose selector matches no pod is reported', () =>
    withTypoService(async (typo) => {
      const problems = await serviceEndpointProblems(kube, [typo], objects);
      console.log(`reported:\n  ${problems.join('\n  ')}`);
      const where = 'Service management/dozzle-typo (selector {"app.kubernetes.io/instance":"dozle","app.kubernetes.io/name":"dozzle"})';
      expect(problems).toEqual([`${where}: selects the pod templates of no workload`, `${where}: no ready endpoints: the selector matches no ready pod`]);
    }));

  test('an Ingress backend without endpoints, on a port the Service lacks, or to no Service is reported', () =>
    withTypoService(async () => {
      const from = 'Ingress management/broken';
      const problems = await backendProblems(kube, [
        { from, namespace: 'management', service: 'dozzle-typo', port: 'http' },
        { from, namespace: 'management', service: 'dozzle', port: 'https' },
        { from, namespace: 'management', service: 'dozzel', port: 'http' },
        { from, namespace: 'management', service: 'dozzle', port: 'http' },
      ]);
      expect(problems).toEqual([
        `${from} -> Service management/dozzle-typo:http: no ready endpoint on that port`,
        `${from} -> Service management/dozzle:https: the Service has no such port`,
        `${from} -> Service management/dozzel:http: no such Service`,
      ]);
    }));

  test('a claim naming a PV that does not exist stays Pending and is reported', async () => {
    const claim: KubeObject = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'PersistentVolumeClaim')!));
    claim.metadata.name = 'orphan-claim';
    claim.spec.volumeName = 'no-such-volume';
    expect((await kube.create(claim)).status).toBe(201);
    try {
      expect(await unboundClaims(kube, [claim])).toEqual([`PersistentVolumeClaim ${claim.metadata.namespace}/orphan-claim: Pending, volume 'no-such-volume' (wants PV 'no-such-volume')`]);
    } finally {
      await kube.request('DELETE', `/api/v1/namespaces/${claim.metadata.namespace}/persistentvolumeclaims/orphan-claim`);
    }
  });

  test('a ServiceAccount bound to more than it needs is reported (Dozzle given Secrets)', async () => {
    const role: KubeObject = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'read-secrets' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] } as KubeObject;
    const binding: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'dozzle-read-secrets' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'read-secrets' },
      subjects: [{ kind: 'ServiceAccount', name: 'dozzle', namespace: 'management' }],
    } as KubeObject;
    expect((await kube.create(role)).status).toBe(201);
    expect((await kube.create(binding)).status).toBe(201);
    try {
      const differences = await grantDifferences('management/dozzle');
      expect(differences).toEqual(namespaces().map((ns) => `in ${ns}: may also get core/secrets`));
      expect(await allowed('management', 'dozzle', 'get core/secrets', 'apps')).toBe(true);
    } finally {
      await kube.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/dozzle-read-secrets');
      await kube.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterroles/read-secrets');
    }
  });

  test('a stack whose requests exceed allocatable by 1 MiB leaves the pod Pending with Insufficient memory; at exactly free it runs', async () => {
    const budget = computeBudget(config, objects);
    const free = budget.available - budget.steadyRequests;
    const current = config.components.nextcloud.containers.nextcloud;
    const currentRequest = memoryBytes(current.requests.memory)!;
    const sized = (extra: number) => {
      const memory = `${toMi(currentRequest + free + extra)}Mi`;
      const bigger: PotatoStackOverrides = {
        ...overrides,
        components: { ...overrides.components, nextcloud: { containers: { nextcloud: { requests: { memory }, limits: { memory: `${Math.max(toMi(currentRequest + free + extra), toMi(memoryBytes(current.limits.memory)!))}Mi` } } } } },
      };
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-oversized-'));
      // buildApp, not synthesize: synthesize's budget check refuses this config, which is the point.
      const oversized = resolveConfig(bigger);
      buildApp(oversized, dir).synth();
      const report = computeBudget(oversized, manifestsOf(buildApp(oversized, '/nonexistent-outdir')));
      return { dir, report };
    };
    const deployment = `/apis/apps/v1/namespaces/apps/deployments/nextcloud`;
    const nextcloudPods = async () =>
      (await list(kube, `/api/v1/namespaces/apps/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/name=nextcloud')}`)).filter((p) => !p.metadata.deletionTimestamp);

    const over = sized(Mi);
    expect(over.report.steadyRequests - over.report.available).toBe(Mi); // the budget refuses it by 1 MiB
    try {
      applyDir(over.dir);
      await waitUntil('the oversized nextcloud pod is refused by the scheduler', async () => {
        const live = await get(kube, deployment);
        const pods = await nextcloudPods();
        const refused = pods.filter((p) =>
          (p.status.conditions ?? []).some((c: any) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable' && /Insufficient memory/.test(c.message)),
        );
        return live.status.observedGeneration >= live.metadata.generation && refused.length === 1 && pods.length === 1 ? [] : [`nextcloud pods: ${pods.map((p) => `${p.metadata.name} ${p.status.phase}`).join(', ')}`];
      });
      const [pending] = await pendingPods(kube);
      console.log(`over by 1 MiB: ${pending}`);
      expect(pending).toMatch(/^Pod apps\/nextcloud-[a-z0-9-]+ Pending: 0\/1 nodes are available: 1 Insufficient memory/);

      const exact = sized(0);
      expect(exact.report.steadyRequests).toBe(exact.report.available);
      applyDir(exact.dir);
      await waitUntil('nextcloud at exactly the free memory runs', () => stackNotReady(objects));
      expect((await requestedOnNode()).reduce((s, p) => s + p.memory, 0)).toBe(Number(node.allocatable.memory));
      console.log(`at exactly the free ${toMi(free)}Mi: scheduled, node allocatable fully requested`);
    } finally {
      applyDir(DIST);
      await waitUntil('the stack back to dist/', () => stackNotReady(objects));
    }
  });

  test("a PV pinned to another node leaves its claimant unschedulable (storage.nodeName not the board's name)", async () => {
    const elsewhere = resolveConfig({ ...overrides, storage: { ...overrides.storage, nodeName: 'another-board' } });
    const app = 'uptime-kuma';
    const mine = (o: KubeObject) =>
      (o.kind === 'Deployment' && o.metadata.name === app) || (['PersistentVolumeClaim', 'PersistentVolume'].includes(o.kind) && o.metadata.name === `${app}-data`);
    const moved = manifestsOf(buildApp(elsewhere, '/nonexistent-outdir')).filter(mine) as KubeObject[];
    expect(moved.map((o) => o.kind).sort()).toEqual(['Deployment', 'PersistentVolume', 'PersistentVolumeClaim']);
    const remove = () => {
      for (const kind of ['deployment', 'persistentvolumeclaim']) {
        const run = kubectl(plane.kubeconfig, ['delete', '-n', 'management', kind, kind === 'deployment' ? app : `${app}-data`, '--wait=true', '--timeout=120s']);
        if (run.status !== 0) throw new Error(run.stderr);
      }
      const run = kubectl(plane.kubeconfig, ['delete', 'persistentvolume', `${app}-data`, '--wait=true', '--timeout=120s']);
      if (run.status !== 0) throw new Error(run.stderr);
    };
    remove();
    try {
      const run = kubectl(plane.kubeconfig, ['apply', '--server-side', '--field-manager=potatostack', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: moved }));
      expect({ status: run.status, errors: errorLines(run.stderr) }).toEqual({ status: 0, errors: [] });
      await waitUntil('the claimant of the misplaced PV is refused', async () => {
        const pending = (await pendingPods(kube)).filter((p) => p.startsWith(`Pod management/${app}-`));
        return pending.length === 1 && /didn't match PersistentVolume's node affinity/.test(pending[0]) ? [] : [`pending: ${JSON.stringify(pending)}`];
      });
      const [pending] = (await pendingPods(kube)).filter((p) => p.startsWith(`Pod management/${app}-`));
      console.log(`PV pinned to 'another-board': ${pending}`);
      expect(await unboundClaims(kube, objects)).toEqual([]); // bound all the same: binding is Immediate, scheduling is what fails
      expect(await unreadyWorkloads(kube, objects)).toEqual([`Deployment management/${app}: 0/1 available, 1 updated, 1 in total`]);
    } finally {
      remove();
      applyDir(DIST);
      await waitUntil('the stack back to dist/', () => stackNotReady(objects));
    }
  });
});

describe('re-applying after a config change (no prune yet)', () => {
  test('a component turned off and a size changed: the change rolls out, the removed objects stay behind', async () => {
    const grafana = config.components.grafana.containers.grafana;
    const grafanaMemory = `${toMi(memoryBytes(grafana.requests.memory)! + 16 * Mi)}Mi`;
    const changed: PotatoStackOverrides = {
      ...overrides,
      components: { ...overrides.components, portainer: { enabled: false }, grafana: { containers: { grafana: { requests: { memory: grafanaMemory } } } } },
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-changed-'));
    synthesize(resolveConfig(changed), dir);
    const next = loadManifests(dir).map((m) => m.object);
    const key = (o: KubeObject) => `${o.apiVersion} ${id(o)}`;
    const nextKeys = new Set(next.map(key));
    const removed = objects.filter((o) => !nextKeys.has(key(o)));
    expect(removed.length).toBeGreaterThan(0);

    const applied = applyDir(dir);
    await waitUntil('the changed stack', () => stackNotReady(next));
    const pods = await list(kube, `/api/v1/namespaces/monitoring/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/name=grafana')}`);
    expect(pods.map((p) => p.spec.containers.find((c: any) => c.name === 'grafana').resources.requests.memory)).toEqual([grafanaMemory]);

    // Nothing deletes what the new dist/ no longer has: every removed object is still there.
    const leftovers: string[] = [];
    for (const o of removed) {
      const result = await kube.request('GET', await kube.pathOf(o));
      if (result.status === 200) leftovers.push(id(o));
    }
    const stillRunning = (await list(kube, '/api/v1/namespaces/management/pods')).filter((p) => p.metadata.name.startsWith('portainer-') && p.status.phase === 'Running');
    console.log(
      `re-applied ${applied} objects (portainer off, grafana request ${grafana.requests.memory} -> ${grafanaMemory}); ` +
        `${leftovers.length} objects stay behind without a prune, Portainer's pod still running: ${stillRunning.length}:\n  ${leftovers.join('\n  ')}`,
    );
    expect(leftovers).toEqual(removed.map(id));
    expect(leftovers).toContain('ClusterRoleBinding portainer'); // still cluster-admin for management/portainer
    expect(stillRunning.length).toBe(1);
  });
});
