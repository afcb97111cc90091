import type { PotatoStackConfig } from '../../lib/config';
import { secretReferences } from '../../lib/docs';
import { Kube, type KubeObject } from './kube';
import { CliError, type DistObject, loadConfig, loadDist, projectAt, type Project } from './project';
import { requiredSecrets, type ExistingSecrets, type RequiredSecret } from './secret-catalog';

/** Options every command takes. */
export interface GlobalOptions {
  /** Folder holding stack.config.ts and dist/. @default the current folder */
  readonly dir?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** A line for the operator on stdout. */
export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function connect(options: GlobalOptions): Promise<Kube> {
  return Kube.connect({ kubeconfig: options.kubeconfig, context: options.context });
}

export function projectOf(options: GlobalOptions): Project {
  return projectAt(options.dir ?? process.cwd());
}

/** The config, dist/ and the Secrets its objects read, with the keys to fill for each. */
export function stackSecrets(options: GlobalOptions): { project: Project; config: PotatoStackConfig; dist: DistObject[]; required: RequiredSecret[] } {
  const project = projectOf(options);
  const config = loadConfig(project);
  const dist = loadDist(project);
  const required = requiredSecrets(config, secretReferences(config, dist.map((d) => d.object)));
  return { project, config, dist, required };
}

/** The cluster's data of the required Secrets, decoded (absent Secrets are left out). */
export async function readSecrets(kube: Kube, required: readonly RequiredSecret[]): Promise<ExistingSecrets> {
  const result = new Map<string, Record<string, string>>();
  for (const secret of required) {
    const object = await kube.get('v1', 'Secret', secret.name, secret.namespace);
    if (!object) continue;
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries((object.data ?? {}) as Record<string, string>)) data[key] = Buffer.from(value, 'base64').toString('utf8');
    result.set(`${secret.namespace}/${secret.name}`, data);
  }
  return result;
}

/** Creates the namespaces that do not exist yet, from their dist/ objects (labels and Pod Security included). */
export async function ensureNamespaces(kube: Kube, dist: readonly DistObject[], names: readonly string[]): Promise<string[]> {
  const created: string[] = [];
  for (const name of names) {
    if (await kube.get('v1', 'Namespace', name)) continue;
    const object = dist.find((d) => d.object.kind === 'Namespace' && d.object.metadata.name === name)?.object;
    if (!object) throw new CliError(`namespace ${name} does not exist and dist/ does not define it`);
    await kube.apply(object as KubeObject);
    created.push(name);
    print(`created namespace ${name}`);
  }
  return created;
}
