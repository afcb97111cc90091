import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Kube, KubeObject } from './kube';
import { sharedDir } from './tools';

/**
 * The CRDs (from shared/crds) that define the custom kinds among `objects`: on k3s these come
 * with the cluster (Traefik's and the Helm controller's).
 */
export function requiredCrds(objects: readonly KubeObject[]): KubeObject[] {
  const dir = path.join(sharedDir(), 'crds');
  if (!fs.existsSync(dir)) {
    throw new Error(`CRD directory ${dir} is missing: dist/ uses Traefik and k3s Helm kinds whose CRDs come from shared/crds (set POTATO_SHARED_DIR to its location)`);
  }
  const crds = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as KubeObject))
    .filter((o) => o?.kind === 'CustomResourceDefinition');
  // Built-in groups are the core group, dot-less groups (apps, batch, policy) and *.k8s.io.
  const isCustom = (group: string) => group.includes('.') && !group.endsWith('.k8s.io');
  const needed = new Set(
    objects.filter((o) => o.apiVersion.includes('/') && isCustom(o.apiVersion.split('/')[0])).map((o) => `${o.apiVersion.split('/')[0]}/${o.kind}`),
  );
  const chosen = crds.filter((crd) => needed.has(`${crd.spec.group}/${crd.spec.names.kind}`));
  const missing = [...needed].filter((k) => !chosen.some((crd) => `${crd.spec.group}/${crd.spec.names.kind}` === k));
  if (missing.length > 0) throw new Error(`no CRD in ${dir} defines ${missing.join(', ')}`);
  return chosen;
}

/** Creates the CRDs `objects` need and waits until the server serves them. */
export async function installCrds(kube: Kube, objects: readonly KubeObject[]): Promise<void> {
  for (const crd of requiredCrds(objects)) await kube.installCrd(crd);
}
