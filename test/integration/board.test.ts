/**
 * The simulated board: a stack applied the way the README tells an operator to, onto the real
 * control plane (kube-apiserver, kube-controller-manager and kube-scheduler of one release, in
 * tools/bin/control-plane) with kwok playing the board's kubelet. The Node is the board as
 * lib/board-node.ts describes it, with k3s's own pods on it; everything after admission is the
 * real thing: scheduling against allocatable memory and priorities, PV binding with node
 * affinity, controllers creating pods, Services finding endpoints, CronJobs creating Jobs, RBAC.
 * No container runs: kwok marks scheduled pods Running and Ready and completes Jobs' pods.
 *
 * Two boards: dist/ as committed (with the negative cases and the re-apply), and the full
 * profile on a board large enough for it, so that every component, DaemonSet and ServiceAccount
 * runs through the same checks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BoardNode, K3sPod, boardNode } from '../../lib/board-node';
import { computeBudget, podUsages } from '../../lib/budget';
import { ComponentName, PotatoStackConfig, PotatoStackOverrides, componentOfContainer, resolveConfig } from '../../lib/config';
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
  startBoard,
  startK3sPods,
  unboundClaims,
  unreadyWorkloads,
  waitUntil,
} from './support/board';
import { RunningControlPlane, RunningProcess } from './support/control-plane';
import { Kube, KubeObject, loadManifests, rejection } from './support/kube';
import { ROOT } from './support/tools';

const Mi = 1024 ** 2;

interface Scenario {
  readonly title: string;
  readonly config: PotatoStackConfig;
  /** The directory the operator applies. */
  readonly dir: string;
  /** Every component on: the ServiceAccount needs below must then be exactly its accounts. */
  readonly everyComponent: boolean;
}

const DIST_SCENARIO: Scenario = { title: 'dist/ as committed', config: resolveConfig(overrides), dir: path.join(ROOT, 'dist'), everyComponent: false };

function fullProfileScenario(): Scenario {
  // The full profile does not fit the 2 GB board; 3800Mi MemTotal, as in the cluster suite.
  const config = resolveConfig({ ...overrides, profile: 'full', node: { ...overrides.node, memTotal: '3800Mi' } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-full-profile-'));
  synthesize(config, dir);
  return { title: 'the full profile on a board with 3800Mi MemTotal', config, dir, everyComponent: true };
}

/** One simulated board: control plane, kwok, the Node, and the stack's objects. */
class Board {
  plane!: RunningControlPlane;
  kwok!: RunningProcess;
  kube!: Kube;
  readonly objects: KubeObject[];
  readonly node: BoardNode;

  constructor(readonly scenario: Scenario) {
    this.objects = loadManifests(scenario.dir).map((m) => m.object);
    this.node = boardNode(scenario.config, this.objects);
  }

  async start(): Promise<void> {
    Object.assign(this, await startBoard(this.scenario.title, this.scenario.config, this.objects, this.node));
  }

  async stop(): Promise<void> {
    await this.kwok?.stop();
    await this.plane?.stop();
  }

  /** k3s's own pods (not in dist/), as pause pods with the requests and priorities boardNode gives them. */
  startK3sPods(which: (pod: K3sPod) => boolean): Promise<void> {
    return startK3sPods(this.kube, this.node, which);
  }

  kubectl(args: string[], input?: string) {
    return kubectl(this.plane.kubeconfig, args, input);
  }

  /** `kubectl apply --server-side -f DIR`, as the README says; returns how many objects were applied. */
  apply(dir: string): number {
    const run = this.kubectl(['apply', '--server-side', '--field-manager=potatostack', '-f', dir]);
    if (run.status !== 0) throw new Error(`kubectl apply -f ${dir} failed (${run.status}):\n${run.stderr}`);
    return run.stdout.split('\n').filter((l) => /serverside-applied/.test(l)).length;
  }

  /** Everything running on the board: workloads available, claims bound, no pod Pending. */
  async notReady(objects: readonly KubeObject[] = this.objects): Promise<string[]> {
    return [...(await unreadyWorkloads(this.kube, objects)), ...(await unboundClaims(this.kube, objects)), ...(await pendingPods(this.kube))];
  }

  /** Memory requests of the pods placed on the node that still hold it. */
  async requestedOnNode(): Promise<{ pod: string; memory: number }[]> {
    const usages: { pod: string; memory: number }[] = [];
    for (const pod of await list(this.kube, `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${this.node.name}`)}`)) {
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const [usage] = podUsages([{ ...pod, kind: 'Pod' }]); // list items carry no kind
      usages.push({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, memory: usage.memoryRequest });
    }
    return usages;
  }

  accounts(): string[] {
    return this.objects.filter((o) => o.kind === 'ServiceAccount').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
  }

  namespaces(): string[] {
    return ['default', 'kube-system', ...this.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)];
  }

  /** Everything an identity may do in `namespace` (cluster-wide grants included), from a SelfSubjectRulesReview as that identity. */
  async grantsIn(ns: string, name: string, namespace: string): Promise<Set<Grant>> {
    const review = await this.kube.request(
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
  async allowed(ns: string, name: string, grant: Grant, namespace = ''): Promise<boolean> {
    const [verb, target] = grant.split(' ');
    const [group, resource, subresource] = target.split('/');
    const attributes = target.startsWith('url:')
      ? { nonResourceAttributes: { verb, path: target.slice(4) } }
      : { resourceAttributes: { verb, group: group === 'core' ? '' : group, resource, subresource, namespace } };
    const review = await this.kube.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: saUser(ns, name), groups: saGroups(ns), ...attributes },
    });
    if (review.status !== 201) throw new Error(`access review ${grant} for ${saUser(ns, name)}: ${rejection(review)}`);
    return review.body.status.allowed === true;
  }

  /** Per namespace: grants beyond what every ServiceAccount gets that the account does not need, and needs it lacks. */
  async grantDifferences(account: string): Promise<string[]> {
    const [ns, name] = account.split('/');
    const differences: string[] = [];
    for (const namespace of this.namespaces()) {
      // An account nothing is bound to shows what every ServiceAccount of that namespace gets.
      const baseline = await this.grantsIn(ns, 'no-binding-at-all', namespace);
      const has = [...(await this.grantsIn(ns, name, namespace))].filter((g) => !baseline.has(g));
      for (const g of has.filter((g) => !NEEDS[account].grants.includes(g)).sort()) differences.push(`in ${namespace}: may also ${g}`);
      for (const g of NEEDS[account].grants.filter((g) => !has.includes(g))) differences.push(`in ${namespace}: may not ${g}`);
    }
    return differences;
  }
}

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
    grants: [...expand(['get', 'list', 'watch'], ['core/nodes', 'core/nodes/metrics', 'core/services', 'core/pods', 'discovery.k8s.io/endpointslices']), 'get url:/metrics'],
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

/** kubectl's stderr without the Pod Security warnings a namespace's `warn` level asks for. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('Warning: would violate PodSecurity'));
}

/** The checks every board runs: the operator's apply, readiness, storage, endpoints, jobs, RBAC. */
function describeBoard(scenario: Scenario, more?: (board: Board) => void): void {
  describe(scenario.title, () => {
    const board = new Board(scenario);
    const { config } = scenario;
    let appliedAt = 0;

    beforeAll(() => board.start(), 300000);
    afterAll(() => board.stop());

    test('applies the way the README says: the Secrets first, then kubectl apply --server-side', async () => {
      // The Secrets' namespaces are created by the stack itself; an operator creating the
      // Secrets first makes them by hand, and the apply then takes them over.
      const refs = secretReferences(config, board.objects);
      expect(refs.length).toBeGreaterThan(0);
      for (const namespace of new Set(refs.map((r) => r.namespace))) {
        if (namespace === 'kube-system') continue;
        const run = board.kubectl(['create', 'namespace', namespace]);
        if (run.status !== 0) throw new Error(run.stderr);
      }
      for (const ref of refs) {
        // Dummy values: kwok starts no container, so only the Secret's existence and keys matter here.
        // Mounted-whole Secrets get one key; their real keys are in the component's README section.
        const keys = ref.keys.length > 0 ? ref.keys : ['placeholder'];
        const tls = ref.keys.includes('tls.crt') && ref.keys.includes('tls.key') ? ['--type=kubernetes.io/tls'] : [];
        const run = board.kubectl(['create', 'secret', 'generic', ref.name, '-n', ref.namespace, ...tls, ...keys.map((k) => `--from-literal=${k}=${Math.random().toString(36).slice(2)}`)]);
        if (run.status !== 0) throw new Error(`creating Secret ${ref.namespace}/${ref.name}: ${run.stderr}`);
      }
      appliedAt = Date.now();
      const applied = board.apply(scenario.dir);
      console.log(`[${scenario.title}] created ${refs.length} Secrets; kubectl apply --server-side: ${applied} objects applied (the directory holds ${board.objects.length})`);
      expect(applied).toBe(board.objects.length);
      // k3s now redeploys Traefik with our values (resources, priority class of the stack).
      await board.startK3sPods((p) => !p.priorityClassName.startsWith('system-'));
    });

    test('the whole stack becomes Ready: every Deployment Available, every DaemonSet scheduled, every PVC Bound, 0 Pending', async () => {
      await waitUntil('the stack on the simulated board', () => board.notReady(), 180000);
      const readyMs = Date.now() - appliedAt;
      const count = (kind: string) => board.objects.filter((o) => o.kind === kind).length;
      const running = (await list(board.kube, '/api/v1/pods')).filter((p) => p.status.phase === 'Running').length;
      console.log(
        `[${scenario.title}] stack Ready ${readyMs} ms after the apply: ${count('Deployment')} Deployments Available, ${count('DaemonSet')} DaemonSets scheduled, ` +
          `${count('PersistentVolumeClaim')} PVCs Bound, ${running} pods Running (${board.node.k3sPods.length} of them k3s's), 0 Pending`,
      );
      expect(await pendingPods(board.kube)).toEqual([]);
      expect(await unreadyWorkloads(board.kube, board.objects)).toEqual([]);
    });

    test('every PVC is Bound to the PV it names, and that PV is pinned to this node', async () => {
      expect(await unboundClaims(board.kube, board.objects)).toEqual([]);
      for (const pv of board.objects.filter((o) => o.kind === 'PersistentVolume')) {
        const terms = pv.spec.nodeAffinity.required.nodeSelectorTerms;
        expect(terms.flatMap((t: any) => t.matchExpressions.flatMap((e: any) => e.values))).toEqual([board.node.name]);
      }
    });

    test('every Service has endpoints, and they are the pods of the one workload it fronts', async () => {
      const services = board.objects.filter((o) => o.kind === 'Service');
      expect(services.length).toBeGreaterThan(0);
      expect(await serviceEndpointProblems(board.kube, services, board.objects)).toEqual([]);
    });

    test('every Ingress (and Traefik TCP route) backend is a Service with a ready endpoint on its port', async () => {
      const refs = ingressBackends(board.objects);
      expect(refs.length).toBeGreaterThan(0);
      expect(await backendProblems(board.kube, refs)).toEqual([]);
    });

    test("the node's allocatable against the pods' requests: the scheduler counts what the budget counts", async () => {
      const budget = computeBudget(config, board.objects);
      const placed = await board.requestedOnNode();
      const k3sNames = new Set(board.node.k3sPods.map((p) => `${p.namespace}/${p.name}`));
      const k3s = placed.filter((p) => k3sNames.has(p.pod)).reduce((s, p) => s + p.memory, 0);
      const stack = placed.filter((p) => !k3sNames.has(p.pod)).reduce((s, p) => s + p.memory, 0);
      const allocatable = Number(board.node.allocatable.memory);
      const free = allocatable - k3s - stack;
      console.log(
        [
          `[${scenario.title}] node ${board.node.name}: capacity (MemTotal) ${toMi(Number(board.node.capacity.memory))}Mi, allocatable ${toMi(allocatable)}Mi, cpu ${board.node.allocatable.cpu}, pods ${board.node.allocatable.pods}`,
          `  k3s's own pods (${board.node.k3sPods.map((p) => p.name).join(', ')}): ${toMi(k3s)}Mi requested`,
          `  the stack's pods (${placed.length - k3sNames.size}): ${toMi(stack)}Mi requested`,
          `  free for the scheduler: ${toMi(free)}Mi; budget headroom: steady ${toMi(budget.available - budget.steadyRequests)}Mi, with the largest job ${toMi(budget.available - budget.peakRequests)}Mi`,
        ].join('\n'),
      );
      expect(allocatable).toBe(budget.node.allocatable);
      expect(free).toBe(budget.available - budget.steadyRequests);
    });

    test('each CronJob, triggered by hand, creates a Job whose pod is scheduled on the board and completes', async () => {
      const cronJobs = board.objects.filter((o) => o.kind === 'CronJob');
      expect(cronJobs.length).toBeGreaterThan(0);
      // One at a time: the budget keeps room for the largest job, not for all of them at once.
      for (const cronJob of cronJobs) {
        const { name } = cronJob.metadata;
        const namespace = cronJob.metadata.namespace!;
        const job = `${name}-manual`;
        const run = board.kubectl(['create', 'job', '-n', namespace, `--from=cronjob/${name}`, job]);
        expect({ status: run.status, errors: errorLines(run.stderr) }).toEqual({ status: 0, errors: [] });
        const ms = await waitUntil(`Job ${namespace}/${job}`, async () => {
          const pods = await list(board.kube, `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`job-name=${job}`)}`);
          const scheduled = pods.filter((p) => p.spec.nodeName === board.node.name && (p.status.conditions ?? []).some((c: any) => c.type === 'PodScheduled' && c.status === 'True'));
          const done = await get(board.kube, `/apis/batch/v1/namespaces/${namespace}/jobs/${job}`);
          const complete = (done?.status?.conditions ?? []).some((c: any) => c.type === 'Complete' && c.status === 'True');
          return scheduled.length > 0 && complete ? [] : [`${pods.length} pod(s), ${scheduled.length} scheduled on ${board.node.name}, complete: ${complete}; ${(await pendingPods(board.kube)).join('; ')}`];
        });
        console.log(`[${scenario.title}] CronJob ${namespace}/${name}: Job ${job} scheduled and complete in ${ms} ms`);
      }
      expect(await pendingPods(board.kube)).toEqual([]);
    });

    describe('RBAC', () => {
      test(scenario.everyComponent ? 'every ServiceAccount of the stack has its needs listed, and every listed one exists' : 'every ServiceAccount of the stack has its needs listed', () => {
        expect(board.accounts().filter((a) => !NEEDS[a])).toEqual([]);
        if (scenario.everyComponent) expect(Object.keys(NEEDS).filter((a) => !board.accounts().includes(a))).toEqual([]);
      });

      if (board.accounts().length > 0) {
        test('each one may do, in every namespace, exactly its needs plus what every ServiceAccount gets', async () => {
          for (const account of board.accounts()) expect({ account, differences: await board.grantDifferences(account) }).toEqual({ account, differences: [] });
          console.log(`[${scenario.title}] RBAC (rules reviews in ${board.namespaces().length} namespaces): ${board.accounts().map((a) => `${a}: ${NEEDS[a].grants.length} grants`).join('; ')}`);
        });

        test('each grant it needs is allowed cluster-wide, by a SubjectAccessReview', async () => {
          for (const account of board.accounts()) {
            const [ns, name] = account.split('/');
            const denied: string[] = [];
            for (const grant of NEEDS[account].grants.filter((g) => !g.includes('*'))) if (!(await board.allowed(ns, name, grant))) denied.push(grant);
            expect({ account, denied }).toEqual({ account, denied: [] });
          }
        });

        test('and a sample of what it must not do is denied in every namespace (Dozzle cannot read Secrets, ...)', async () => {
          for (const account of board.accounts()) {
            const [ns, name] = account.split('/');
            const permitted: string[] = [];
            for (const grant of NEEDS[account].mustNot) {
              for (const namespace of ['', ...board.namespaces()]) if (await board.allowed(ns, name, grant, namespace)) permitted.push(`${grant} in '${namespace}'`);
            }
            expect({ account, permitted }).toEqual({ account, permitted: [] });
          }
          if (board.accounts().includes('management/portainer')) {
            // Portainer's wildcard, spelled out on the most sensitive object (README: it can read every Secret).
            expect(await board.allowed('management', 'portainer', 'get core/secrets', 'kube-system')).toBe(true);
          }
        });
      }

      test("the pods' default ServiceAccounts get nothing beyond what every ServiceAccount gets", async () => {
        for (const namespace of board.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)) {
          const baseline = await board.grantsIn(namespace, 'no-binding-at-all', namespace);
          const extra = [...(await board.grantsIn(namespace, 'default', namespace))].filter((g) => !baseline.has(g));
          expect({ namespace, extra }).toEqual({ namespace, extra: [] });
          expect(await board.allowed(namespace, 'default', 'get core/secrets', namespace)).toBe(false);
        }
      });
    });

    more?.(board);
  });
}

/** Negative cases: each check above reports what it must, and the scheduler refuses what the budget refuses. */
function negativeCases(board: Board): void {
  describe('the checks fail visibly', () => {
    const { config } = board.scenario;
    const service = () => board.objects.find((o) => o.kind === 'Service')!;

    /** Runs `check` while a copy of the first Service, with a typo in its selector, exists. */
    async function withTypoService(check: (typo: KubeObject) => Promise<void>): Promise<void> {
      const typo: KubeObject = JSON.parse(JSON.stringify(service()));
      typo.metadata.name = `${typo.metadata.name}-typo`;
      typo.spec.selector['app.kubernetes.io/instance'] += 'x';
      expect((await board.kube.create(typo)).status).toBe(201);
      try {
        await check(typo);
      } finally {
        await board.kube.request('DELETE', `/api/v1/namespaces/${typo.metadata.namespace}/services/${typo.metadata.name}`);
      }
    }

    test('a Service whose selector matches no pod is reported', () =>
      withTypoService(async (typo) => {
        const problems = await serviceEndpointProblems(board.kube, [typo], board.objects);
        console.log(`reported:\n  ${problems.join('\n  ')}`);
        const where = `${id(typo)} (selector ${JSON.stringify(typo.spec.selector)})`;
        expect(problems).toEqual([`${where}: selects the pod templates of no workload`, `${where}: no ready endpoints: the selector matches no ready pod`]);
      }));

    test('an Ingress backend without endpoints, on a port the Service lacks, or to no Service is reported', () =>
      withTypoService(async (typo) => {
        const { namespace, name } = service().metadata as { namespace: string; name: string };
        const port = service().spec.ports[0].name;
        const from = 'Ingress broken';
        const problems = await backendProblems(board.kube, [
          { from, namespace, service: typo.metadata.name, port },
          { from, namespace, service: name, port: 'no-such-port' },
          { from, namespace, service: `${name}-missing`, port },
          { from, namespace, service: name, port },
        ]);
        expect(problems).toEqual([
          `${from} -> Service ${namespace}/${typo.metadata.name}:${port}: no ready endpoint on that port`,
          `${from} -> Service ${namespace}/${name}:no-such-port: the Service has no such port`,
          `${from} -> Service ${namespace}/${name}-missing:${port}: no such Service`,
        ]);
      }));

    test('a claim naming a PV that does not exist stays Pending and is reported', async () => {
      const claim: KubeObject = JSON.parse(JSON.stringify(board.objects.find((o) => o.kind === 'PersistentVolumeClaim')!));
      claim.metadata.name = 'orphan-claim';
      claim.spec.volumeName = 'no-such-volume';
      expect((await board.kube.create(claim)).status).toBe(201);
      try {
        expect(await unboundClaims(board.kube, [claim])).toEqual([`PersistentVolumeClaim ${claim.metadata.namespace}/orphan-claim: Pending, volume 'no-such-volume' (wants PV 'no-such-volume')`]);
      } finally {
        await board.kube.request('DELETE', `/api/v1/namespaces/${claim.metadata.namespace}/persistentvolumeclaims/orphan-claim`);
      }
    });

    test('requests 1 MiB over the free memory leave the pod Pending with Insufficient memory; exactly the free memory runs', async () => {
      // The lowest-priority Deployment with Recreate: nothing running may be preempted for it,
      // and its old pod goes before the new one comes.
      const priority = (w: KubeObject) => board.objects.find((o) => o.kind === 'PriorityClass' && o.metadata.name === w.spec.template.spec.priorityClassName)?.value ?? 0;
      const [deployment] = board.objects.filter((o) => o.kind === 'Deployment' && o.spec.strategy?.type === 'Recreate').sort((a, b) => priority(a) - priority(b));
      const container = deployment.spec.template.spec.containers[0].name;
      const component = componentOfContainer(container) as ComponentName;
      const size = config.components[component].containers[container];
      const budget = computeBudget(config, board.objects);
      const free = budget.available - budget.steadyRequests;
      const resized = (extra: number) => {
        const memory = `${toMi(memoryBytes(size.requests.memory)! + free + extra)}Mi`;
        const limit = `${Math.max(toMi(memoryBytes(size.requests.memory)! + free + extra), toMi(memoryBytes(size.limits.memory)!))}Mi`;
        const bigger: PotatoStackOverrides = {
          ...overrides,
          components: { ...overrides.components, [component]: { containers: { [container]: { requests: { memory }, limits: { memory: limit } } } } },
        };
        const changed = resolveConfig(bigger);
        // buildApp, not synthesize: synthesize's budget check refuses the larger one, which is the point.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-resized-'));
        buildApp(changed, dir).synth();
        return { dir, report: computeBudget(changed, manifestsOf(buildApp(changed, '/nonexistent-outdir'))) };
      };
      const pods = async () =>
        (await list(board.kube, `/api/v1/namespaces/${deployment.metadata.namespace}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${deployment.metadata.name}`)}`)).filter(
          (p) => !p.metadata.deletionTimestamp,
        );

      const over = resized(Mi);
      expect(over.report.steadyRequests - over.report.available).toBe(Mi); // the budget refuses it by 1 MiB
      try {
        board.apply(over.dir);
        await waitUntil(`the enlarged ${id(deployment)} pod is refused by the scheduler`, async () => {
          const current = await pods();
          const refused = current.filter((p) =>
            (p.status.conditions ?? []).some((c: any) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable' && /Insufficient memory/.test(c.message)),
          );
          return refused.length === 1 && current.length === 1 ? [] : [`pods: ${current.map((p) => `${p.metadata.name} ${p.status.phase}`).join(', ')}`];
        });
        const [pending] = await pendingPods(board.kube);
        console.log(`over by 1 MiB (${id(deployment)}, ${deployment.spec.template.spec.priorityClassName}): ${pending}`);
        expect(pending).toMatch(new RegExp(`^Pod ${deployment.metadata.namespace}/${deployment.metadata.name}-[a-z0-9-]+ Pending: 0/1 nodes are available: 1 Insufficient memory`));

        const exact = resized(0);
        expect(exact.report.steadyRequests).toBe(exact.report.available);
        board.apply(exact.dir);
        await waitUntil(`${id(deployment)} at exactly the free memory runs`, () => board.notReady());
        expect((await board.requestedOnNode()).reduce((s, p) => s + p.memory, 0)).toBe(Number(board.node.allocatable.memory));
        console.log(`at exactly the free ${toMi(free)}Mi more: scheduled, node allocatable fully requested`);
      } finally {
        board.apply(board.scenario.dir);
        await waitUntil('the stack back to dist/', () => board.notReady());
      }
    });

    test("a PV pinned to another node leaves its claimant unschedulable (storage.nodeName not the board's name)", async () => {
      const claimsOf = (d: KubeObject) => (d.spec.template.spec.volumes ?? []).filter((v: any) => v.persistentVolumeClaim).map((v: any) => v.persistentVolumeClaim.claimName);
      const deployment = board.objects.find((o) => o.kind === 'Deployment' && claimsOf(o).length === 1)!;
      const [claimName] = claimsOf(deployment);
      const namespace = deployment.metadata.namespace!;
      const volumeName = board.objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claimName && o.metadata.namespace === namespace)!.spec.volumeName;
      const elsewhere = resolveConfig({ ...overrides, storage: { ...overrides.storage, nodeName: 'another-board' } });
      const moved = (manifestsOf(buildApp(elsewhere, '/nonexistent-outdir')) as KubeObject[]).filter(
        (o) =>
          (o.kind === 'Deployment' && o.metadata.name === deployment.metadata.name && o.metadata.namespace === namespace) ||
          (o.kind === 'PersistentVolumeClaim' && o.metadata.name === claimName && o.metadata.namespace === namespace) ||
          (o.kind === 'PersistentVolume' && o.metadata.name === volumeName),
      );
      expect(moved.map((o) => o.kind).sort()).toEqual(['Deployment', 'PersistentVolume', 'PersistentVolumeClaim']);
      const remove = () => {
        for (const args of [['-n', namespace, 'deployment', deployment.metadata.name], ['-n', namespace, 'persistentvolumeclaim', claimName], ['persistentvolume', volumeName]]) {
          const run = board.kubectl(['delete', ...args, '--wait=true', '--timeout=120s']);
          if (run.status !== 0) throw new Error(run.stderr);
        }
      };
      remove();
      try {
        const run = board.kubectl(['apply', '--server-side', '--field-manager=potatostack', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: moved }));
        expect({ status: run.status, errors: errorLines(run.stderr) }).toEqual({ status: 0, errors: [] });
        const mine = async () => (await pendingPods(board.kube)).filter((p) => p.startsWith(`Pod ${namespace}/${deployment.metadata.name}-`));
        await waitUntil('the claimant of the misplaced PV is refused', async () => {
          const pending = await mine();
          return pending.length === 1 && /didn't match PersistentVolume's node affinity/.test(pending[0]) ? [] : [`pending: ${JSON.stringify(pending)}`];
        });
        console.log(`PV ${volumeName} pinned to 'another-board': ${(await mine())[0]}`);
        expect(await unboundClaims(board.kube, board.objects)).toEqual([]); // bound all the same: binding is Immediate, scheduling is what fails
        expect(await unreadyWorkloads(board.kube, board.objects)).toEqual([`${id(deployment)}: 0/1 available, 1 updated, 1 in total`]);
      } finally {
        remove();
        board.apply(board.scenario.dir);
        await waitUntil('the stack back to dist/', () => board.notReady());
      }
    });
  });

  describe('re-applying after a config change (no prune yet)', () => {
    test('a component turned off and a size changed: the change rolls out, the removed objects stay behind', async () => {
      const { config } = board.scenario;
      // Kopia off (its server and its snapshot CronJob), MariaDB's request up.
      expect([config.components.kopia.enabled, config.components.mariadb.enabled]).toEqual([true, true]);
      const mariadb = config.components.mariadb.containers.mariadb;
      const mariadbMemory = `${toMi(memoryBytes(mariadb.requests.memory)! + 16 * Mi)}Mi`;
      const changed: PotatoStackOverrides = {
        ...overrides,
        components: { ...overrides.components, kopia: { enabled: false }, mariadb: { containers: { mariadb: { requests: { memory: mariadbMemory } } } } },
      };
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-changed-'));
      synthesize(resolveConfig(changed), dir);
      const next = loadManifests(dir).map((m) => m.object);
      const key = (o: KubeObject) => `${o.apiVersion} ${id(o)}`;
      const nextKeys = new Set(next.map(key));
      const removed = board.objects.filter((o) => !nextKeys.has(key(o)));
      expect(removed.length).toBeGreaterThan(0);

      const applied = board.apply(dir);
      await waitUntil('the changed stack', () => board.notReady(next));
      const pods = await list(board.kube, `/api/v1/namespaces/data/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/name=mariadb')}`);
      expect(pods.map((p) => p.spec.containers.find((c: any) => c.name === 'mariadb').resources.requests.memory)).toEqual([mariadbMemory]);

      // Nothing deletes what the new directory no longer has: every removed object is still there.
      const leftovers: string[] = [];
      for (const o of removed) if ((await board.kube.request('GET', await board.kube.pathOf(o))).status === 200) leftovers.push(id(o));
      const stillRunning = (await list(board.kube, '/api/v1/namespaces/apps/pods')).filter((p) => p.metadata.name.startsWith('kopia-') && p.status.phase === 'Running');
      console.log(
        `re-applied ${applied} objects (kopia off, mariadb request ${mariadb.requests.memory} -> ${mariadbMemory}); ` +
          `${leftovers.length} objects stay behind without a prune, Kopia's server pod still running: ${stillRunning.length}:\n  ${leftovers.join('\n  ')}`,
      );
      expect(leftovers).toEqual(removed.map(id));
      expect(leftovers).toContain('CronJob apps/kopia-snapshot'); // would go on snapshotting
      expect(stillRunning.length).toBe(1);
    });
  });
}

describeBoard(DIST_SCENARIO, negativeCases);
describeBoard(fullProfileScenario(), (board) => {
  test('a ServiceAccount bound to more than it needs is reported (Dozzle given Secrets)', async () => {
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'read-secrets' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'dozzle-read-secrets' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'read-secrets' },
      subjects: [{ kind: 'ServiceAccount', name: 'dozzle', namespace: 'management' }],
    };
    expect((await board.kube.create(role)).status).toBe(201);
    expect((await board.kube.create(binding)).status).toBe(201);
    try {
      expect(await board.grantDifferences('management/dozzle')).toEqual(board.namespaces().map((ns) => `in ${ns}: may also get core/secrets`));
      expect(await board.allowed('management', 'dozzle', 'get core/secrets', 'apps')).toBe(true);
    } finally {
      await board.kube.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/dozzle-read-secrets');
      await board.kube.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterroles/read-secrets');
    }
  });
});
