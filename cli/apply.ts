import { secretProblems } from './shared/secret-catalog';
import { KubeError, type Kube, type KubeObject } from './shared/kube';
import { CliError, describeObject, staleDistFiles, type DistObject } from './shared/project';
import { connect, print, readSecrets, stackSecrets, type GlobalOptions } from './shared/context';
import { parseDuration, rolloutState, waitForRollouts } from './shared/rollout';

/** Labels every synthesized object carries; prune only ever looks at objects with both. */
export const STACK_SELECTOR = 'app.kubernetes.io/part-of=potatostack,app.kubernetes.io/managed-by=cdk8s';

/**
 * Every kind the stack can synthesize (in any ingress mode, with any optional component):
 * the kinds prune lists. A unit test synthesizes the variants and fails when a kind is missing.
 * Secrets are not here: the stack never synthesizes them, and prune never touches them.
 */
export const PRUNE_KINDS: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass' },
  { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass' },
  { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig' },
  { apiVersion: 'traefik.io/v1alpha1', kind: 'Middleware' },
  { apiVersion: 'traefik.io/v1alpha1', kind: 'TLSOption' },
  { apiVersion: 'traefik.io/v1alpha1', kind: 'IngressRouteTCP' },
  { apiVersion: 'traefik.io/v1alpha1', kind: 'ServersTransport' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: 'v1', kind: 'PersistentVolume' },
  { apiVersion: 'v1', kind: 'Namespace' },
];

/** Kinds that hold data (or everything in them): prune keeps them unless --force. */
export const DATA_KINDS: readonly string[] = ['PersistentVolume', 'PersistentVolumeClaim', 'Namespace'];

/** Group/kind/namespace/name: the identity of an object across API versions of its group. */
export function identityOf(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
  return `${group}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** What prune does with the stack's objects in the cluster that dist/ no longer has. */
export interface PrunePlan {
  readonly remove: KubeObject[];
  /** Data holders left in place without --force. */
  readonly keep: KubeObject[];
}

/**
 * Objects labelled as the stack's that dist/ does not contain. Workloads go first (their pods
 * stop before the objects they use), namespaces last; data holders stay unless forced.
 */
export function prunePlan(live: readonly KubeObject[], wanted: readonly KubeObject[], force: boolean): PrunePlan {
  const keepIds = new Set(wanted.map(identityOf));
  const gone = live.filter((o) => !keepIds.has(identityOf(o)) && !o.metadata.deletionTimestamp);
  const rank = (o: KubeObject) => (['Deployment', 'DaemonSet', 'StatefulSet', 'CronJob', 'Job'].includes(o.kind) ? 0 : o.kind === 'Namespace' ? 3 : o.kind === 'PersistentVolume' ? 2 : 1);
  const ordered = [...gone].sort((a, b) => rank(a) - rank(b));
  return {
    remove: ordered.filter((o) => force || !DATA_KINDS.includes(o.kind)),
    keep: ordered.filter((o) => !force && DATA_KINDS.includes(o.kind)),
  };
}

/** The operator's next step for an apply error the API server returns. */
export function applyHint(object: KubeObject, error: KubeError): string | undefined {
  if (object.kind === 'PersistentVolume' && /immutable|Forbidden/i.test(error.message)) {
    return 'a PersistentVolume cannot change its path or node after creation: see docs/operations.md, "Changing disks or the node name"';
  }
  if (error.status === 404 && /does not know/.test(error.message)) {
    return object.apiVersion.startsWith('helm.cattle.io') || object.apiVersion.startsWith('traefik.io')
      ? "k3s installs this kind with its Helm controller and Traefik: is this k3s, and has Traefik's chart been installed (npx potatostack preflight)?"
      : undefined;
  }
  return undefined;
}

export interface ApplyOptions extends GlobalOptions {
  readonly prune?: boolean;
  readonly force?: boolean;
  readonly wait?: boolean;
  readonly timeout?: string;
  readonly dryRun?: boolean;
  readonly allowMissingSecrets?: boolean;
}

/** `potatostack apply`: namespaces, the Secrets check, dist/ in order, prune, then the rollouts. */
export async function applyCommand(options: ApplyOptions): Promise<number> {
  const { project, config, dist, required } = stackSecrets(options);
  const stale = staleDistFiles(project, config);
  if (stale.length > 0) throw new CliError(`dist/ is not what stack.config.ts synthesizes (${stale.join(', ')}): run \`npm run synth\` first`);
  const timeoutMs = parseDuration(options.timeout ?? '10m');
  const kube = await connect(options);
  const dryRun = Boolean(options.dryRun);
  const namespaces = dist.filter((d) => d.object.kind === 'Namespace');
  for (const { object } of namespaces) await kube.apply(object, { dryRun });
  print(`${dryRun ? 'checked' : 'applied'} ${namespaces.length} namespaces: ${namespaces.map((d) => d.object.metadata.name).join(', ')}`);

  const problems = secretProblems(required, await readSecrets(kube, required));
  if (problems.length > 0) {
    for (const problem of problems) print(`missing: ${problem}`);
    if (!options.allowMissingSecrets) throw new CliError('Secrets are missing: run `npx potatostack secrets` (or pass --allow-missing-secrets to apply anyway; those pods will not start)');
  }

  const failures = await applyObjects(kube, dist.filter((d) => d.object.kind !== 'Namespace'), dryRun);
  if (failures > 0) throw new CliError(`${failures} object(s) were not applied; nothing was pruned`);

  if (options.prune !== false) await prune(kube, dist.map((d) => d.object), Boolean(options.force), dryRun);
  if (dryRun || options.wait === false) return 0;
  const workloads = dist.map((d) => d.object).filter((o) => rolloutState(o) !== undefined);
  const notReady = await waitForRollouts(kube, workloads, timeoutMs, print);
  return notReady.length > 0 ? 1 : 0;
}

async function applyObjects(kube: Kube, objects: readonly DistObject[], dryRun: boolean): Promise<number> {
  let failures = 0;
  const perFile = new Map<string, number>();
  const hinted = new Set<string>();
  for (const { file, object } of objects) {
    try {
      await kube.apply(object, { dryRun });
      perFile.set(file, (perFile.get(file) ?? 0) + 1);
    } catch (error) {
      if (!(error instanceof KubeError)) throw error;
      failures++;
      const hint = applyHint(object, error);
      print(`failed: ${describeObject(object)} (dist/${file}): ${error.message}`);
      // Each hint once: seventeen volumes fail for the same reason.
      if (hint && !hinted.has(hint)) print(`  ${hint}`);
      if (hint) hinted.add(hint);
    }
  }
  for (const [file, count] of perFile) print(`${dryRun ? 'checked' : 'applied'} dist/${file}: ${count} objects`);
  return failures;
}

async function prune(kube: Kube, wanted: readonly KubeObject[], force: boolean, dryRun: boolean): Promise<void> {
  const live: KubeObject[] = [];
  for (const { apiVersion, kind } of PRUNE_KINDS) live.push(...(await kube.list(apiVersion, kind, { labelSelector: STACK_SELECTOR })));
  const plan = prunePlan(live, wanted, force);
  for (const object of plan.remove) {
    if (await kube.delete(object, { dryRun })) print(`${dryRun ? 'would prune' : 'pruned'} ${describeObject(object)}`);
  }
  for (const object of plan.keep) {
    print(`kept ${describeObject(object)}: no longer synthesized, but it holds data; delete it yourself, or apply --force`);
  }
  if (plan.remove.length === 0 && plan.keep.length === 0) print('nothing to prune');
}
