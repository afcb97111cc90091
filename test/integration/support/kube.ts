import * as https from 'node:https';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as ClientNode from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

/** Every object in the YAML files of a directory, with the file it came from. */
export function loadManifests(dir: string): Array<{ file: string; object: KubeObject }> {
  // Top-level files only, as `kubectl apply -f dir` reads them: dist/host/ holds the board's own files.
  const result: Array<{ file: string; object: KubeObject }> = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      const object = doc.toJS() as KubeObject | null;
      if (object) result.push({ file, object });
    }
  }
  return result;
}

export interface ApiResult {
  readonly status: number;
  readonly body: any;
  /** Warning headers (Pod Security warnings for workloads arrive this way). */
  readonly warnings: string[];
}

/**
 * A thin client over @kubernetes/client-node: the KubeConfig supplies server, CA and token,
 * KubernetesObjectApi resolves each kind to its REST path, and the request itself is sent
 * raw so that unknown fields reach the server (the typed serializer would drop them) and
 * strict field validation applies.
 */
export class Kube {
  /** client-node 1.x is ESM-only: loaded with a dynamic import (see tsconfig.integration.json). */
  static async connect(kubeconfigPath: string): Promise<Kube> {
    const { KubeConfig, KubernetesObjectApi } = (await import('@kubernetes/client-node')) as typeof ClientNode;
    const config = new KubeConfig();
    config.loadFromFile(kubeconfigPath);
    // KubernetesObjectApi's discovery (kind -> resource, cached per group version) is protected.
    class Discovery extends KubernetesObjectApi {
      resourceOf(apiVersion: string, kind: string) {
        return this.resource(apiVersion, kind);
      }
    }
    return new Kube(config, config.makeApiClient(Discovery));
  }

  private constructor(
    readonly config: ClientNode.KubeConfig,
    private readonly objects: { resourceOf(apiVersion: string, kind: string): Promise<ClientNode.V1APIResource | undefined> },
  ) {}

  /** One API request; `headers` adds to the defaults (e.g. `Impersonate-User`). */
  async request(method: string, urlPath: string, body?: unknown, contentType = 'application/json', headers: Record<string, string | string[]> = {}): Promise<ApiResult> {
    const server = new URL(this.config.getCurrentCluster()!.server);
    const options: https.RequestOptions = {
      method,
      hostname: server.hostname,
      port: server.port,
      path: urlPath,
      headers: { Accept: 'application/json', 'Content-Type': contentType, ...headers },
    };
    await this.config.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      const req = https.request(options, (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => {
          const warning = res.headers.warning;
          const warnings = warning === undefined ? [] : Array.isArray(warning) ? warning : [warning];
          let parsed: unknown = data;
          try {
            parsed = JSON.parse(data);
          } catch {
            // non-JSON bodies (e.g. /readyz) stay text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
      req.end();
    });
  }

  /** REST path of an object (collection path when `collection` is true). */
  async pathOf(object: KubeObject, collection = false): Promise<string> {
    const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
    const resource = await this.objects.resourceOf(object.apiVersion, object.kind);
    if (!resource) throw new Error(`the server does not know ${object.apiVersion} ${object.kind}`);
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const ns = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
    return `${base}${ns}/${resource.name}${collection ? '' : `/${object.metadata.name}`}`;
  }

  /** Server-side apply with dryRun=All and strict field validation. */
  async dryRunApply(object: KubeObject): Promise<ApiResult> {
    const query = 'dryRun=All&fieldManager=potatostack-test&fieldValidation=Strict&force=true';
    return this.request('PATCH', `${await this.pathOf(object)}?${query}`, object, 'application/apply-patch+yaml');
  }

  /** Creates an object for real (namespaces, CRDs). */
  async create(object: KubeObject): Promise<ApiResult> {
    return this.request('POST', `${await this.pathOf(object, true)}?fieldValidation=Strict`, object);
  }

  /** Creates a CustomResourceDefinition for real and waits until the server serves its kind. */
  async installCrd(crd: KubeObject): Promise<void> {
    const created = await this.create(crd);
    if (created.status !== 201) throw new Error(`installing CRD ${crd.metadata.name}: ${rejection(created)}`);
    for (let i = 0; i < 100; i++) {
      const result = await this.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      if ((result.body?.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True')) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`CRD ${crd.metadata.name} never became Established`);
  }

  /** Dry-run create (for Pods built from workload templates). */
  async dryRunCreate(object: KubeObject): Promise<ApiResult> {
    return this.request('POST', `${await this.pathOf(object, true)}?dryRun=All&fieldValidation=Strict`, object);
  }
}

/** The server's reason for a rejection, with the field causes it lists. */
export function rejection(result: ApiResult): string {
  const body = result.body ?? {};
  const causes = (body.details?.causes ?? []).map((c: any) => `${c.field ?? ''}: ${c.message ?? c.reason}`).join('; ');
  return `HTTP ${result.status}: ${body.message ?? JSON.stringify(body)}${causes ? ` [${causes}]` : ''}`;
}
