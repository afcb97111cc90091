import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DistObject, containerMemoryLimitBytes, distConfigMapData, distObject, podSpec } from './dist';

/**
 * A container of dist/ laid out on this machine: each volume mount becomes a local directory
 * with what the kubelet would put there (ConfigMap keys as files, an empty directory for claims
 * and emptyDirs, dummy files for Secret keys, the host's own path for hostPath volumes), and the
 * container's paths in its args and config files are rewritten to those directories. Everything
 * else stays exactly as dist/ has it.
 */
export interface LocalContainer {
  readonly workload: DistObject;
  readonly container: any;
  /** Temporary root of the local directories (removed by `cleanup()`). */
  readonly root: string;
  /** Container path -> local path, for every mount. */
  readonly mounts: Readonly<Record<string, string>>;
  /** The container's args with mount paths rewritten. */
  readonly args: string[];
  /** Human-readable list of what differs from the pod (for the test's report). */
  readonly differences: string[];
  /** Rewrites the container's mount paths in any text (a config file read from a ConfigMap). */
  rewritePaths(text: string): string;
  /** The container's memory limit in bytes (what the kubelet writes to its cgroup). */
  readonly memoryLimitBytes: number;
  cleanup(): void;
}

export interface LayoutOptions {
  /** Extra container paths that are not volume mounts of the spec (e.g. the ServiceAccount token mount) -> local path. */
  readonly extraMounts?: Readonly<Record<string, string>>;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function layOutContainer(kind: string, namespace: string, name: string, containerName: string, options: LayoutOptions = {}): LocalContainer {
  const workload = distObject(kind, namespace, name);
  const spec = podSpec(workload);
  const container = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].find((c: any) => c.name === containerName);
  if (!container) throw new Error(`${kind} ${namespace}/${name} in dist/ has no container ${containerName}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `potato-${name}-`));
  const mounts: Record<string, string> = {};
  const differences: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = (spec.volumes ?? []).find((v: any) => v.name === mount.name);
    if (!volume) throw new Error(`${name}/${containerName}: mount ${mount.name} names no volume of the pod`);
    if (mount.subPath) throw new Error(`${name}/${containerName}: subPath mounts are not laid out here (${mount.name})`);
    const local = path.join(root, mount.name);
    if (volume.configMap) {
      fs.mkdirSync(local);
      const data = distObject('ConfigMap', namespace, volume.configMap.name).data ?? {};
      const items: { key: string; path: string }[] = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) fs.writeFileSync(path.join(local, item.path), distConfigMapData(namespace, volume.configMap.name, item.key));
      mounts[mount.mountPath] = local;
      differences.push(`${mount.mountPath}: ConfigMap ${volume.configMap.name} of the manifests in ${local}`);
    } else if (volume.secret) {
      fs.mkdirSync(local);
      const items: { key: string; path: string }[] = volume.secret.items ?? [];
      for (const item of items) fs.writeFileSync(path.join(local, item.path), `dummy-${item.key}\n`, { mode: 0o600 });
      mounts[mount.mountPath] = local;
      differences.push(`${mount.mountPath}: Secret ${volume.secret.secretName} as dummy files (${items.map((i) => i.key).join(', ') || 'no keys'})`);
    } else if (volume.persistentVolumeClaim || volume.emptyDir) {
      fs.mkdirSync(local);
      mounts[mount.mountPath] = local;
      differences.push(`${mount.mountPath}: ${volume.persistentVolumeClaim ? `claim ${volume.persistentVolumeClaim.claimName}` : 'emptyDir'} as an empty temp directory`);
    } else if (volume.hostPath?.type === 'DirectoryOrCreate' && !fs.existsSync(volume.hostPath.path)) {
      // The kubelet creates the folder empty; here it is an empty temp folder (nothing created on this machine).
      fs.mkdirSync(local, { mode: 0o755 });
      mounts[mount.mountPath] = local;
      differences.push(`${mount.mountPath}: hostPath ${volume.hostPath.path} (DirectoryOrCreate), absent on this machine: an empty temp directory, as the kubelet would create it`);
    } else if (volume.hostPath) {
      mounts[mount.mountPath] = volume.hostPath.path;
      if (!fs.existsSync(volume.hostPath.path)) differences.push(`${mount.mountPath}: hostPath ${volume.hostPath.path}, absent on this machine`);
      else if (mount.mountPath !== volume.hostPath.path) differences.push(`${mount.mountPath}: hostPath ${volume.hostPath.path}, which is this machine's ${volume.hostPath.path}`);
    } else {
      throw new Error(`${name}/${containerName}: volume ${mount.name} has a type this layout does not know (${Object.keys(volume).join(', ')})`);
    }
  }
  for (const [containerPath, local] of Object.entries(options.extraMounts ?? {})) {
    mounts[containerPath] = local;
    differences.push(`${containerPath}: ${local}`);
  }
  // Longest container paths first, and only whole path segments: /etc/a must not rewrite /etc/ab.
  const ordered = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const rewritePaths = (text: string) =>
    ordered.reduce((t, containerPath) => t.replace(new RegExp(`${escapeRegex(containerPath)}(?=$|[/"'\\s,:;)])`, 'gm'), mounts[containerPath]), text);
  const memoryLimitBytes = containerMemoryLimitBytes(container);
  return {
    workload,
    container,
    root,
    mounts,
    args: (container.args ?? []).map((a: string) => rewritePaths(a)),
    differences,
    rewritePaths,
    memoryLimitBytes,
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Replaces the value of `--flag=value` in args. Fails when the flag is not there, so a renamed
 * flag in dist/ breaks the test instead of being silently added.
 */
export function replaceFlag(args: readonly string[], flag: string, value: string): string[] {
  const index = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (index < 0) throw new Error(`the container's args have no ${flag} (${args.join(' ')})`);
  return args.map((a, i) => (i === index ? `${flag}=${value}` : a));
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The Go `-ldflags` version a binary reports with `--version` (prometheus/common's format). */
export function reportedVersion(output: string): string | undefined {
  return /version v?([0-9]+\.[0-9]+\.[0-9]+)/.exec(output)?.[1];
}
