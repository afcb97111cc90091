import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './tools';

/** One object of the committed manifests. */
export type DistObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
};

let cache: DistObject[] | undefined;

/**
 * Every object in the committed `dist/` (what operators apply), in file order. Real-program tests
 * read flags, files and probes from here so that they check exactly what is deployed.
 */
export function distObjects(dir = path.join(ROOT, 'dist')): DistObject[] {
  if (dir === path.join(ROOT, 'dist') && cache) return cache;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const objects = files.flatMap((f) =>
    parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8'))
      .map((d) => d.toJS() as DistObject)
      .filter(Boolean),
  );
  if (dir === path.join(ROOT, 'dist')) cache = objects;
  return objects;
}

export function distObject(kind: string, namespace: string | undefined, name: string): DistObject {
  const found = distObjects().find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  if (!found) throw new Error(`dist/ has no ${kind} ${namespace ? `${namespace}/` : ''}${name}`);
  return found;
}

/** The pod spec of a workload (Deployment, DaemonSet, StatefulSet, Job or CronJob). */
export function podSpec(workload: DistObject): any {
  return workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec.template.spec : workload.spec.template.spec;
}

/** A container (regular, init or sidecar) of a workload in dist/, by name. */
export function distContainer(kind: string, namespace: string, workload: string, container: string): any {
  const spec = podSpec(distObject(kind, namespace, workload));
  const found = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].find((c: any) => c.name === container);
  if (!found) throw new Error(`${kind} ${namespace}/${workload} in dist/ has no container ${container}`);
  return found;
}

/** One key of a ConfigMap in dist/. */
export function distConfigMapData(namespace: string, name: string, key: string): string {
  const value = distObject('ConfigMap', namespace, name).data?.[key];
  if (typeof value !== 'string') throw new Error(`ConfigMap ${namespace}/${name} in dist/ has no key ${key}`);
  return value;
}

/** The container's env as a plain map (literal values only; references are left out and listed). */
export function literalEnv(container: any): { env: Record<string, string>; references: string[] } {
  const env: Record<string, string> = {};
  const references: string[] = [];
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else references.push(e.name);
  }
  return { env, references };
}
