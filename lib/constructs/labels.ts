export const PART_OF = 'potatostack';
export const MANAGED_BY = 'cdk8s';

export const NAME_LABEL = 'app.kubernetes.io/name';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const VERSION_LABEL = 'app.kubernetes.io/version';

/** Labels that select one app's pods; stable across upgrades (no version). */
export function selectorLabels(name: string): Record<string, string> {
  return { [NAME_LABEL]: name, [INSTANCE_LABEL]: name };
}

/** Recommended labels of an app's objects. part-of and managed-by come from the chart. */
export function appLabels(name: string, role: string): Record<string, string> {
  return { ...selectorLabels(name), [COMPONENT_LABEL]: role };
}

/** Version label from an image reference's tag. */
export function versionOf(image: string): string {
  const tag = image.replace(/@sha256:.*$/, '').split(':').pop() ?? '';
  return tag.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
}

/**
 * Annotations that stop GitOps tools from pruning or deleting an object that holds data: Flux's
 * kustomize-controller skips it when pruning, and Argo CD neither prunes it nor deletes it with
 * its Application. Dropping a volume or namespace from dist/ (or deleting the Application) then
 * leaves it in the cluster; removing it stays a deliberate `kubectl delete`.
 */
export const GITOPS_KEEP_ANNOTATIONS: Readonly<Record<string, string>> = {
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
  'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
};
