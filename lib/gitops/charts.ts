import { ApiObject, App } from 'cdk8s';
import type { PotatoStackConfig } from '../config';

/** A chart of the output as GitOps tools see it: its file in the output folder and its place in the order. */
export interface ChartFile {
  /** cdk8s chart id, also the file name without `.yaml` (`00-platform`). */
  readonly id: string;
  /** The chart's name without the order prefix (`platform`). */
  readonly name: string;
  /** Position in apply order, from 0. */
  readonly wave: number;
}

/** The charts of a built app in apply order (the number prefix of each id). */
export function chartFiles(app: App): ChartFile[] {
  return app.charts.map((chart, wave) => ({ id: chart.node.id, name: chart.node.id.replace(/^[0-9]+-/, ''), wave }));
}

/** Kinds that hold data or everything else: a GitOps prune must never delete them. */
export const PRUNE_PROTECTED_KINDS = ['Namespace', 'PersistentVolume', 'PersistentVolumeClaim'] as const;


/** ArgoCD's ordering annotation: lower waves are applied and healthy before higher ones start. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

/**
 * With ArgoCD enabled, stamps a sync wave per chart in apply order. (Prune protection of
 * namespaces, volumes and claims is on those objects already: the ZoneNamespace and volume
 * constructs set GITOPS_KEEP_ANNOTATIONS, whichever tool applies the output.)
 */
export function annotateForGitOps(app: App, config: PotatoStackConfig): void {
  if (!config.gitops.argocd.enabled) return;
  app.charts.forEach((chart, wave) => {
    for (const object of chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject)) {
      object.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, String(wave));
    }
  });
}
