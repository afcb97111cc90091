import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../../lib/config';
import { memoryBytes } from '../../../lib/config/quantity';
import { buildApp } from '../../../lib/stack';
import { overrides } from '../../../stack.config';
import { loadManifests } from './kube';
import { ROOT } from './tools';

/** One object of the committed manifests. */
export type DistObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
};

let cache: DistObject[] | undefined;
let fullCache: DistObject[] | undefined;

/**
 * Every object in the committed `dist/` (what operators apply), in file order. Real-program tests
 * read flags, files and probes from here so that they check exactly what is deployed.
 */
export function distObjects(): DistObject[] {
  cache ??= loadManifests(path.join(ROOT, 'dist')).map((m) => m.object as DistObject);
  return cache;
}

/**
 * The full profile (every component on) synthesized the way `npm run synth` writes dist/, for the
 * components the default profile leaves out of dist/.
 */
export function fullProfileObjects(): DistObject[] {
  if (!fullCache) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-full-profile-'));
    buildApp(resolveConfig({ ...overrides, profile: 'full' }), dir).synth();
    fullCache = loadManifests(dir).map((m) => m.object as DistObject);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return fullCache;
}

/** An object from dist/, or from the full profile when the default profile leaves its component out. */
export function distObject(kind: string, namespace: string | undefined, name: string): DistObject {
  const match = (o: DistObject) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace;
  const found = distObjects().find(match) ?? fullProfileObjects().find(match);
  if (!found) throw new Error(`neither dist/ nor the full profile has ${kind} ${namespace ? `${namespace}/` : ''}${name}`);
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

/** A container's `limits.memory` in bytes: what the kubelet writes to its cgroup (`MeteredProcess`'s `limitBytes`). */
export function containerMemoryLimitBytes(container: any): number {
  const limit = container.resources?.limits?.memory;
  const bytes = typeof limit === 'string' ? memoryBytes(limit) : undefined;
  if (bytes === undefined) throw new Error(`container ${container.name} in dist/ has no parsable memory limit (${limit})`);
  return bytes;
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
