import type { ContainerSize, PotatoStackConfig } from '../config';
import { COMPONENTS } from '../config/components';
import type { ChartFile } from './charts';

/** Flux's API versions the generated objects use (the CRDs of Flux 2.x). */
export const FLUX_SOURCE_API = 'source.toolkit.fluxcd.io/v1';
export const FLUX_KUSTOMIZE_API = 'kustomize.toolkit.fluxcd.io/v1';

/** Name of the GitRepository and of the Kustomization that applies the Flux objects themselves. */
export const FLUX_ROOT_NAME = 'potatostack';
/** Where the generated GitOps files go, inside the output folder. */
export const GITOPS_FOLDER = 'gitops';

export type FluxObject = { apiVersion: string; kind: string; metadata: { name: string; namespace: string; labels?: Record<string, string> }; spec: Record<string, any> };

/** Kustomization name of a chart (`potatostack-platform`). */
export function fluxKustomizationName(chart: Pick<ChartFile, 'name'>): string {
  return `${FLUX_ROOT_NAME}-${chart.name}`;
}

/** Folder (relative to the repository root) of a chart's kustomization.yaml. */
export function chartKustomizationPath(config: PotatoStackConfig, chart: Pick<ChartFile, 'id'>): string {
  return `${config.gitops.repository.path}/${GITOPS_FOLDER}/${chart.id}`;
}

/** kustomization.yaml of a chart: its one file of the output, two folders up (Flux loads it without root restrictions). */
export function chartKustomization(chart: Pick<ChartFile, 'id'>): Record<string, unknown> {
  return { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [`../../${chart.id}.yaml`] };
}

const labels = { 'app.kubernetes.io/part-of': 'potatostack', 'app.kubernetes.io/managed-by': 'cdk8s' };

/**
 * The Flux objects: the GitRepository, one Kustomization per chart in apply order (each depends on
 * the one before), the SOPS-decrypted Secrets right after the platform chart, and a root
 * Kustomization that keeps these objects themselves in sync. Prune is on everywhere; namespaces,
 * volumes and claims carry Flux's prune opt-out.
 */
export function fluxObjects(config: PotatoStackConfig, charts: readonly ChartFile[]): FluxObject[] {
  const { repository, flux } = config.gitops;
  const metadata = (name: string) => ({ name, namespace: flux.namespace, labels });
  const sourceRef = { kind: 'GitRepository', name: FLUX_ROOT_NAME };
  const kustomization = (name: string, path: string, dependsOn: string | undefined, extra: Record<string, unknown> = {}): FluxObject => ({
    apiVersion: FLUX_KUSTOMIZE_API,
    kind: 'Kustomization',
    metadata: metadata(name),
    spec: {
      interval: flux.interval,
      retryInterval: '2m',
      timeout: '5m',
      path: `./${path}`,
      prune: true,
      sourceRef,
      ...(dependsOn ? { dependsOn: [{ name: dependsOn }] } : {}),
      ...extra,
    },
  });
  const secretsName = `${FLUX_ROOT_NAME}-secrets`;
  const chain: FluxObject[] = [];
  let previous: string | undefined;
  for (const chart of charts) {
    const name = fluxKustomizationName(chart);
    chain.push(kustomization(name, chartKustomizationPath(config, chart), previous));
    previous = name;
    if (chart.wave === 0) {
      // Secrets need their namespaces (platform) and must exist before the first workload starts.
      chain.push(kustomization(secretsName, flux.secretsPath, name, { decryption: { provider: 'sops', secretRef: { name: flux.sopsAgeSecret } } }));
      previous = secretsName;
    }
  }
  return [
    {
      apiVersion: FLUX_SOURCE_API,
      kind: 'GitRepository',
      metadata: metadata(FLUX_ROOT_NAME),
      spec: {
        interval: flux.interval,
        url: repository.url,
        ref: { branch: repository.branch },
        ...(flux.repositorySecret ? { secretRef: { name: flux.repositorySecret } } : {}),
      },
    },
    kustomization(FLUX_ROOT_NAME, `${repository.path}/${GITOPS_FOLDER}/flux`, undefined),
    ...chain,
  ];
}

/** Flux's controllers as the Flux CLI installs them: Deployment name and container name. */
export const FLUX_CONTROLLERS = [
  { deployment: 'source-controller', container: 'manager', sizedAs: 'source-controller' },
  { deployment: 'kustomize-controller', container: 'manager', sizedAs: 'kustomize-controller' },
] as const;

/**
 * Strategic merge patch that gives one Flux controller the size and priority class the budget
 * counts. Flux derives each controller's GOMEMLIMIT from its memory limit.
 */
export function fluxControllerPatch(config: PotatoStackConfig, controller: (typeof FLUX_CONTROLLERS)[number]): Record<string, unknown> {
  const size: ContainerSize | undefined = config.components.flux.containers[controller.sizedAs];
  if (!size) throw new Error(`components.flux.containers has no size for container '${controller.sizedAs}'`);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: controller.deployment, namespace: config.gitops.flux.namespace },
    spec: {
      template: {
        spec: {
          priorityClassName: COMPONENTS.flux.priority,
          containers: [{ name: controller.container, resources: { requests: { ...size.requests }, limits: { ...size.limits } } }],
        },
      },
    },
  };
}
