import * as http from 'node:http';
import * as https from 'node:https';
import type * as ClientNode from '@kubernetes/client-node';
import { CliError } from './project';

/** Field manager of every change the CLI makes, so `kubectl get --show-managed-fields` tells its edits apart. */
export const FIELD_MANAGER = 'potatostack';

/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: any };
  [key: string]: any;
}

/** A failed API call: the HTTP status and the server's message. */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export interface ConnectOptions {
  /** Kubeconfig file; default: $KUBECONFIG, then ~/.kube/config, then in-cluster. */
  readonly kubeconfig?: string;
  /** Context of the kubeconfig; default: its current context. */
  readonly context?: string;
}

/**
 * The CLI's API client. @kubernetes/client-node loads the kubeconfig (server, CA, token or
 * client certificate, exec plugins) and discovers which resource serves a kind; requests are
 * sent as JSON as they are, so server-side apply gets exactly the objects of `dist/` (the typed
 * models would drop fields they do not know).
 */
export class Kube {
  static async connect(options: ConnectOptions = {}): Promise<Kube> {
    // client-node 1.x is an ES module; Node 20.19+ loads it from CommonJS.
    const { KubeConfig, KubernetesObjectApi } = (await import('@kubernetes/client-node')) as typeof ClientNode;
    const config = new KubeConfig();
    try {
      if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
      else config.loadFromDefault();
    } catch (error) {
      throw new CliError(`cannot read the kubeconfig (${(error as Error).message}): set KUBECONFIG (on the board: /etc/rancher/k3s/k3s.yaml) or pass --kubeconfig`);
    }
    if (options.context) config.setCurrentContext(options.context);
    if (!config.getCurrentCluster()) throw new CliError('no Kubernetes cluster configured: set KUBECONFIG (on the board: /etc/rancher/k3s/k3s.yaml) or pass --kubeconfig');
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
    private readonly discovery: { resourceOf(apiVersion: string, kind: string): Promise<ClientNode.V1APIResource | undefined> },
  ) {}

  /** Server URL of the current context. */
  get server(): string {
    return this.config.getCurrentCluster()!.server;
  }

  /** One request; resolves with the status and the parsed body (text when not JSON), never throws for HTTP errors. */
  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
    const server = new URL(this.server);
    const options: https.RequestOptions = {
      method,
      hostname: server.hostname,
      port: server.port,
      path: `${server.pathname.replace(/\/$/, '')}${path}`,
      headers: { Accept: 'application/json', 'Content-Type': contentType },
    };
    await this.config.applyToHTTPSOptions(options);
    const transport = server.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(options, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => {
          let parsed: unknown = data;
          try {
            parsed = JSON.parse(data);
          } catch {
            // logs and health endpoints answer text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('error', (error) => reject(new Error(`cannot reach the Kubernetes API at ${this.server}: ${error.message}`)));
      if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
      req.end();
    });
  }

  /** Like request, but an HTTP error becomes a KubeError with the server's message. */
  async call(method: string, path: string, body?: unknown, contentType?: string): Promise<any> {
    const result = await this.request(method, path, body, contentType);
    if (result.status >= 200 && result.status < 300) return result.body;
    throw new KubeError(result.status, errorMessage(result.body, result.status));
  }

  /** The resource serving a kind, or undefined when the server does not know it (a missing CRD). */
  async resourceOf(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean } | undefined> {
    try {
      const resource = await this.discovery.resourceOf(apiVersion, kind);
      return resource ? { name: resource.name, namespaced: resource.namespaced } : undefined;
    } catch (error) {
      // Discovery of a group version the server does not serve fails with 404.
      if (/404|not found/i.test(String((error as Error).message))) return undefined;
      throw error;
    }
  }

  /** REST path of a kind's collection (in a namespace, or across all when none is given). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const resource = await this.resourceOf(apiVersion, kind);
    if (!resource) throw new KubeError(404, `the cluster does not know ${kind} (${apiVersion}); is its CustomResourceDefinition installed?`);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return `${base}${resource.namespaced && namespace ? `/namespaces/${namespace}` : ''}/${resource.name}`;
  }

  async objectPath(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<string> {
    const resource = await this.resourceOf(object.apiVersion, object.kind);
    if (!resource) throw new KubeError(404, `the cluster does not know ${object.kind} (${object.apiVersion}); is its CustomResourceDefinition installed?`);
    const base = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    const ns = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
    return `${base}${ns}/${resource.name}/${encodeURIComponent(object.metadata.name)}`;
  }

  /** Server-side apply under the CLI's field manager; `force` takes over fields another manager (kubectl) set. */
  async apply(object: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    const query = `fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Strict${options.dryRun ? '&dryRun=All' : ''}`;
    return this.call('PATCH', `${await this.objectPath(object)}?${query}`, object, 'application/apply-patch+yaml');
  }

  /** The object, or undefined when it does not exist. */
  async get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined> {
    const result = await this.request('GET', await this.objectPath({ apiVersion, kind, metadata: { name, namespace } }));
    if (result.status === 404) return undefined;
    if (result.status >= 300) throw new KubeError(result.status, errorMessage(result.body, result.status));
    return result.body;
  }

  /** Objects of a kind (all namespaces unless one is given), optionally by label selector; [] for an unknown kind. */
  async list(apiVersion: string, kind: string, options: { namespace?: string; labelSelector?: string } = {}): Promise<KubeObject[]> {
    if (!(await this.resourceOf(apiVersion, kind))) return [];
    const query = options.labelSelector ? `?labelSelector=${encodeURIComponent(options.labelSelector)}` : '';
    const body = await this.call('GET', `${await this.collectionPath(apiVersion, kind, options.namespace)}${query}`);
    return (body.items ?? []).map((item: KubeObject) => ({ ...item, apiVersion, kind }));
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const resource = await this.resourceOf(object.apiVersion, object.kind);
    return this.call('POST', `${await this.collectionPath(object.apiVersion, object.kind, resource?.namespaced ? (object.metadata.namespace ?? 'default') : undefined)}?fieldManager=${FIELD_MANAGER}`, object);
  }

  /** Deletes an object (its dependents in the background); false when it was already gone. */
  async delete(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>, options: { dryRun?: boolean } = {}): Promise<boolean> {
    const query = options.dryRun ? '?dryRun=All' : '';
    const result = await this.request('DELETE', `${await this.objectPath(object)}${query}`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
    if (result.status === 404) return false;
    if (result.status >= 300) throw new KubeError(result.status, errorMessage(result.body, result.status));
    return true;
  }
}

function errorMessage(body: any, status: number): string {
  if (body && typeof body === 'object' && body.message) return body.message;
  return `HTTP ${status}${typeof body === 'string' && body ? `: ${body.slice(0, 300)}` : ''}`;
}
