import type { PotatoStackConfig } from '../config';

export const ARGOCD_API = 'argoproj.io/v1alpha1';

type Manifest = { apiVersion?: string; kind?: string; metadata?: { namespace?: string } };
export type ArgoObject = { apiVersion: string; kind: string; metadata: { name: string; namespace: string; labels?: Record<string, string> }; spec: Record<string, any> };

/** `{group, kind}` pairs of the objects, sorted, without duplicates. */
function groupKinds(manifests: readonly Manifest[]): { group: string; kind: string }[] {
  const seen = new Map<string, { group: string; kind: string }>();
  for (const m of manifests) {
    const apiVersion = m.apiVersion ?? '';
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    seen.set(`${group}/${m.kind}`, { group, kind: m.kind ?? '' });
  }
  return [...seen.values()].sort((a, b) => `${a.group}/${a.kind}`.localeCompare(`${b.group}/${b.kind}`));
}

/**
 * An AppProject that admits exactly what the output holds (its repository, its namespaces, its
 * cluster-scoped and namespaced kinds) and an Application that syncs the output folder (top level
 * only, like `kubectl apply -f dist/`) with prune and self-heal. Sync waves on the objects order
 * the charts. No resources finalizer: deleting the Application leaves the stack running.
 */
export function argoCdObjects(config: PotatoStackConfig, manifests: readonly Manifest[]): ArgoObject[] {
  const { repository, argocd } = config.gitops;
  const labels = { 'app.kubernetes.io/part-of': 'potatostack', 'app.kubernetes.io/managed-by': 'cdk8s' };
  const namespaces = [...new Set(manifests.map((m) => m.metadata?.namespace).filter((ns): ns is string => Boolean(ns)))].sort();
  return [
    {
      apiVersion: ARGOCD_API,
      kind: 'AppProject',
      metadata: { name: argocd.project, namespace: argocd.namespace, labels },
      spec: {
        description: 'PotatoStack on the board, synthesized by cdk8s',
        sourceRepos: [repository.url],
        destinations: namespaces.map((namespace) => ({ server: argocd.destinationServer, namespace })),
        clusterResourceWhitelist: groupKinds(manifests.filter((m) => !m.metadata?.namespace)),
        namespaceResourceWhitelist: groupKinds(manifests.filter((m) => m.metadata?.namespace)),
      },
    },
    {
      apiVersion: ARGOCD_API,
      kind: 'Application',
      metadata: { name: argocd.project, namespace: argocd.namespace, labels },
      spec: {
        project: argocd.project,
        source: { repoURL: repository.url, targetRevision: repository.branch, path: repository.path, directory: { recurse: false } },
        destination: { server: argocd.destinationServer },
        syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['PruneLast=true'] },
      },
    },
  ];
}
