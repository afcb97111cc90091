import type { Report } from './validate';

/** The Git repository that holds the synthesized output, as Flux or ArgoCD fetch it. */
export interface GitRepositorySettings {
  /**
   * Clone URL of the repository (`https://...`, `ssh://git@...` or `git@host:owner/repo`). Required
   * as soon as Flux or ArgoCD is enabled. @default '' (unset)
   */
  readonly url: string;
  /** Branch Flux and ArgoCD follow. @default 'main' */
  readonly branch: string;
  /**
   * Folder of this environment's output inside the repository, relative to its root and without
   * `./` (the folder `npm run synth` writes: `dist` for the board, `staging` for the laptop). The
   * generated Kustomizations and the ArgoCD Application point below it. @default 'dist'
   */
  readonly path: string;
}

/** Flux running on the board: source-controller and kustomize-controller only. */
export interface FluxSettings {
  /**
   * Whether the output gets a GitRepository and one Kustomization per chart (`<path>/gitops/flux/`)
   * and the budget counts Flux's two controllers (component `flux`, which follows this switch).
   * @default false
   */
  readonly enabled: boolean;
  /** How often Flux fetches the branch and re-applies drifted objects (a Go duration such as '10m'). @default '10m' */
  readonly interval: string;
  /** Namespace Flux runs in; its objects live there. @default 'flux-system' */
  readonly namespace: string;
  /**
   * Secret (in the Flux namespace) holding the age private key under a key ending in `.agekey`;
   * kustomize-controller decrypts the SOPS-encrypted Secrets with it. @default 'sops-age'
   */
  readonly sopsAgeSecret: string;
  /**
   * Folder in the repository with the SOPS-encrypted Secret manifests, relative to its root; applied
   * after the platform chart and before the data chart. @default 'secrets'
   */
  readonly secretsPath: string;
  /**
   * Secret (in the Flux namespace) with the credentials for a private repository (`username` and
   * `password`, or `identity` and `known_hosts` for SSH); empty for a public one. @default ''
   */
  readonly repositorySecret: string;
}

/** An ArgoCD that runs on another cluster and deploys to the board from there. */
export interface ArgoCdSettings {
  /**
   * Whether the output gets an AppProject and an Application (`<path>/gitops/argocd/`) and every
   * object a sync wave in chart order. @default false
   */
  readonly enabled: boolean;
  /** Namespace of the ArgoCD installation (on its own cluster). @default 'argocd' */
  readonly namespace: string;
  /** Name of the AppProject and the Application. @default 'potatostack' */
  readonly project: string;
  /**
   * API server URL of the board's cluster as registered in ArgoCD (`argocd cluster add`). Required
   * when ArgoCD is enabled: an ArgoCD elsewhere never deploys to its own cluster by default.
   * @default '' (unset)
   */
  readonly destinationServer: string;
}

/** How the output reaches the cluster from Git (docs/gitops.md). */
export interface GitOpsConfig {
  readonly repository: GitRepositorySettings;
  readonly flux: FluxSettings;
  readonly argocd: ArgoCdSettings;
}

export const DEFAULT_GITOPS: GitOpsConfig = {
  repository: { url: '', branch: 'main', path: 'dist' },
  flux: { enabled: false, interval: '10m', namespace: 'flux-system', sopsAgeSecret: 'sops-age', secretsPath: 'secrets', repositorySecret: '' },
  argocd: { enabled: false, namespace: 'argocd', project: 'potatostack', destinationServer: '' },
};

/** Go duration as Flux's CRDs accept it (their `interval` pattern). */
export const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** https/http/ssh URLs and the scp-like `git@host:owner/repo` form Git and Flux accept. */
const REPOSITORY_URL = /^((https?|ssh):\/\/[^\s]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+)$/;
const GIT_BRANCH = /^(?!\/|.*\/\/|.*\.\.|.*\/$|.*\.lock$)[A-Za-z0-9._/-]+$/;

/** A folder inside the repository: relative, no `.`/`..` segments, no leading `./` or trailing slash. */
export function isRepositoryFolder(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(value) && !value.split('/').some((part) => part === '.' || part === '..');
}

export function checkGitOps(gitops: GitOpsConfig, report: Report): void {
  const { repository, flux, argocd } = gitops;
  const used = flux.enabled || argocd.enabled;
  if (used && !REPOSITORY_URL.test(repository.url)) {
    report('gitops.repository.url', repository.url, "the repository's clone URL, such as 'https://github.com/me/potato.git' or 'ssh://git@github.com/me/potato.git' (needed while gitops.flux or gitops.argocd is enabled)");
  }
  if (!GIT_BRANCH.test(repository.branch)) report('gitops.repository.branch', repository.branch, "a Git branch name such as 'main'");
  if (!isRepositoryFolder(repository.path)) {
    report('gitops.repository.path', repository.path, "a folder relative to the repository root without './', '..' or a trailing slash, such as 'dist'");
  }
  for (const prop of ['enabled'] as const) {
    if (typeof flux[prop] !== 'boolean') report(`gitops.flux.${prop}`, flux[prop], 'true or false');
    if (typeof argocd[prop] !== 'boolean') report(`gitops.argocd.${prop}`, argocd[prop], 'true or false');
  }
  if (!GO_DURATION.test(flux.interval)) report('gitops.flux.interval', flux.interval, "a Go duration such as '10m' or '1h30m'");
  if (!DNS_LABEL.test(flux.namespace)) report('gitops.flux.namespace', flux.namespace, 'a namespace name (lowercase DNS label)');
  if (!DNS_SUBDOMAIN.test(flux.sopsAgeSecret)) report('gitops.flux.sopsAgeSecret', flux.sopsAgeSecret, 'a Secret name (lowercase DNS subdomain)');
  if (flux.repositorySecret !== '' && !DNS_SUBDOMAIN.test(flux.repositorySecret)) {
    report('gitops.flux.repositorySecret', flux.repositorySecret, "a Secret name (lowercase DNS subdomain), or '' for a public repository");
  }
  if (!isRepositoryFolder(flux.secretsPath)) {
    report('gitops.flux.secretsPath', flux.secretsPath, "a folder relative to the repository root without './', '..' or a trailing slash, such as 'secrets'");
  } else if (isRepositoryFolder(repository.path) && (flux.secretsPath === repository.path || flux.secretsPath.startsWith(`${repository.path}/`))) {
    report('gitops.flux.secretsPath', flux.secretsPath, `a folder outside gitops.repository.path ('${repository.path}'): synth replaces that folder, encrypted Secrets would be lost`);
  }
  if (!DNS_LABEL.test(argocd.namespace)) report('gitops.argocd.namespace', argocd.namespace, 'a namespace name (lowercase DNS label)');
  if (!DNS_LABEL.test(argocd.project)) report('gitops.argocd.project', argocd.project, 'a project name (lowercase DNS label)');
  if (argocd.enabled && !/^https:\/\/[^\s/]+(:[0-9]+)?\/?$/.test(argocd.destinationServer)) {
    report('gitops.argocd.destinationServer', argocd.destinationServer, "the board's API server URL as registered in ArgoCD, such as 'https://192.168.178.10:6443' (needed while gitops.argocd is enabled)");
  }
}
