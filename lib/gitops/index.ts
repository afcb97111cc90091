import { App } from 'cdk8s';
import { stringify } from 'yaml';
import type { PotatoStackConfig } from '../config';
import { argoCdObjects } from './argocd';
import { chartFiles } from './charts';
import { FLUX_CONTROLLERS, chartKustomization, fluxControllerPatch, fluxObjects } from './flux';

export * from './argocd';
export * from './charts';
export * from './flux';

const yamlDocuments = (objects: readonly unknown[]) => objects.map((o) => stringify(o)).join('---\n');

/**
 * Files of `<outdir>/gitops/`, keyed by their path below it; empty while neither Flux nor ArgoCD
 * is enabled. Subfolders keep them out of `kubectl apply -f <outdir>/` (not recursive).
 */
export function gitopsFiles(config: PotatoStackConfig, app: App): Record<string, string> {
  const files: Record<string, string> = {};
  const charts = chartFiles(app);
  if (config.gitops.flux.enabled) {
    for (const chart of charts) files[`${chart.id}/kustomization.yaml`] = stringify(chartKustomization(chart));
    files['flux/kustomization.yaml'] = stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['potatostack.yaml'] });
    files['flux/potatostack.yaml'] = yamlDocuments(fluxObjects(config, charts));
    for (const controller of FLUX_CONTROLLERS) {
      files[`flux-system/${controller.deployment}.patch.yaml`] = stringify(fluxControllerPatch(config, controller));
    }
  }
  if (config.gitops.argocd.enabled) {
    files['argocd/potatostack.yaml'] = yamlDocuments(argoCdObjects(config, app.charts.flatMap((c) => c.toJson())));
  }
  return files;
}
