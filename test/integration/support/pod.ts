import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { memoryBytes } from '../../../lib/config/quantity';
import { MeteredProcess, evictFromPageCache } from './footprint';

/**
 * Runs one container of a pod spec (from dist/ or a generator) as a local process, the way the
 * kubelet would run it, with its mounts replaced by folders of the test:
 * - its literal environment, with every value that is a path under a mount (or `user@host:<path>`
 *   naming one) moved to the folder standing in for that mount; Secret-backed variables get the
 *   values the test hands in, keyed `<secret>/<key>`; HOME points nowhere, as on a read-only root;
 * - its command, with the same path mapping (its scripts come from the ConfigMap's folder);
 * - its user and group (setpriv), and as root only the capabilities it adds after dropping ALL
 *   (the bounding set), without privilege escalation.
 */
export interface PodFolders {
  /** Host folder of each pod volume, by volume name (a subPath mount appends its sub-folder). */
  readonly volumes: Readonly<Record<string, string>>;
  /** Secret values by `<secret>/<key>`. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Container paths that are not mounted in this pod but named in its environment (another pod's mount), mapped too. */
  readonly extraPaths?: Readonly<Record<string, string>>;
  /** Folders prepended to PATH: where the image's programs are found here. */
  readonly path: readonly string[];
  /** Variables added for the test only (such as a stand-in's log file). */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** The shell that runs `/bin/sh` for this image (busybox for alpine images). @default ['/bin/sh'] */
  readonly shell?: readonly string[];
  /**
   * The image's programs to evict from the page cache before the container starts, so their code
   * is charged to its cgroup as on a first start (see MeteredOptions.coldStart). @default none
   */
  readonly coldStart?: readonly string[];
}

interface Mapping {
  readonly from: string;
  readonly to: string;
}

function mappings(container: any, folders: PodFolders): Mapping[] {
  const result: Mapping[] = (container.volumeMounts ?? []).map((m: any) => {
    const host = folders.volumes[m.name];
    if (!host) throw new Error(`container ${container.name} mounts volume '${m.name}', which the test gives no folder`);
    if (!m.subPath) return { from: m.mountPath, to: host };
    // The kubelet creates a missing subPath folder.
    fs.mkdirSync(path.join(host, m.subPath), { recursive: true });
    return { from: m.mountPath, to: path.join(host, m.subPath) };
  });
  for (const [from, to] of Object.entries(folders.extraPaths ?? {})) result.push({ from, to });
  // Longest first, so /app/cache wins over /app.
  return result.sort((a, b) => b.from.length - a.from.length);
}

/** A container path moved to its test folder; values that are not under a mount stay as they are. */
export function mapPath(value: string, maps: readonly Mapping[]): string {
  const identity = /^([^\s:@/]+@[^\s:/]+:)(\/.*)$/.exec(value);
  if (identity) return identity[1] + mapPath(identity[2], maps);
  for (const { from, to } of maps) {
    if (value === from) return to;
    if (value.startsWith(`${from}/`)) return to + value.slice(from.length);
  }
  return value;
}

/** Maps every container path inside a command string (probe commands: `[ -e /backup-state/x ]`). */
export function mapPathsInText(text: string, maps: readonly Mapping[]): string {
  if (maps.length === 0) return text;
  // One pass over all mount paths (longest first), so a replaced path is never mapped again.
  const escape = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(^|[\\s'"=])(${maps.map((m) => escape(m.from)).join('|')})(?=/|[\\s'"]|$)`, 'g');
  return text.replace(pattern, (_m, before: string, from: string) => `${before}${maps.find((m) => m.from === from)!.to}`);
}

export interface PreparedContainer {
  readonly command: string;
  readonly args: string[];
  readonly env: NodeJS.ProcessEnv;
  readonly maps: readonly Mapping[];
}

/** The local command line and environment of a container. */
export function prepareContainer(container: any, folders: PodFolders): PreparedContainer {
  const maps = mappings(container, folders);
  const env: NodeJS.ProcessEnv = { PATH: [...folders.path, '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'].join(':'), HOME: '/nonexistent-home' };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = mapPath(String(e.value), maps);
    else if (e.valueFrom?.secretKeyRef) {
      const key = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
      const value = folders.secrets?.[key];
      if (value === undefined) throw new Error(`container ${container.name} reads Secret ${key}, which the test does not provide`);
      env[e.name] = value;
    } else throw new Error(`container ${container.name}: variable ${e.name} has a source the test cannot provide`);
  }
  Object.assign(env, folders.extraEnv ?? {});
  const [program, ...rest] = (container.command ?? []).map((part: string) => mapPath(part, maps));
  if (!program) throw new Error(`container ${container.name} has no command`);
  const shell = program === '/bin/sh' ? [...(folders.shell ?? ['/bin/sh'])] : [program];
  const security = securityPrefix(container);
  const full = [...mountPrefix(container, folders), ...security, ...shell, ...rest];
  return { command: full[0], args: full.slice(1), env, maps };
}

/**
 * When a container mounts something read-only, it runs in a mount namespace of its own where
 * each of its folders is bound onto itself with the container's flag (outer folders first, so a
 * read-write mount below a read-only one stays writable): a write to a read-only mount fails
 * here as it would in the pod.
 */
function mountPrefix(container: any, folders: PodFolders): string[] {
  const mounts: { host: string; readOnly: boolean }[] = (container.volumeMounts ?? []).map((m: any) => ({
    host: m.subPath ? path.join(folders.volumes[m.name], m.subPath) : folders.volumes[m.name],
    readOnly: Boolean(m.readOnly),
  }));
  if (!mounts.some((m) => m.readOnly)) return [];
  const q = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
  const binds = mounts
    .sort((a, b) => a.host.length - b.host.length)
    .map((m) => `${MOUNT} --bind ${q(m.host)} ${q(m.host)} && ${MOUNT} -o remount,bind,${m.readOnly ? 'ro' : 'rw'} ${q(m.host)} ${q(m.host)}`);
  return [UNSHARE, '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `${binds.join(' && ')} && exec "$@"`, 'mounts'];
}

/** util-linux's programs by their path: busybox has applets of the same names with other options. */
function utilLinux(name: string): string {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((dir) => path.join(dir, name)).find((p) => fs.existsSync(p)) ?? name;
}
const SETPRIV = utilLinux('setpriv');
const UNSHARE = utilLinux('unshare');
const MOUNT = utilLinux('mount');

/** setpriv arguments for the container's user, group and capabilities. */
export function securityPrefix(container: any): string[] {
  const sc = container.securityContext ?? {};
  const noNewPrivs = sc.allowPrivilegeEscalation === false ? ['--no-new-privs'] : [];
  if (sc.runAsUser !== undefined && sc.runAsUser !== 0) {
    const gid = sc.runAsGroup ?? sc.runAsUser;
    return [SETPRIV, `--reuid=${sc.runAsUser}`, `--regid=${gid}`, '--clear-groups', ...noNewPrivs, '--'];
  }
  if (sc.runAsUser === 0) {
    const added: string[] = (sc.capabilities?.add ?? []).map((c: string) => `+${c.toLowerCase()}`);
    return [SETPRIV, `--bounding-set=-all${added.length ? `,${added.join(',')}` : ''}`, '--inh-caps=-all', ...noNewPrivs, '--'];
  }
  throw new Error(`container ${container.name} states neither a non-root UID nor an explicit root exception`);
}

/**
 * Starts the container as a metered process (memory like the kubelet sees it), in a cgroup
 * limited to the container's memory limit: above it the program is OOM-killed, as in its pod.
 */
export function startContainer(container: any, folders: PodFolders, name = container.name): MeteredProcess {
  const prepared = prepareContainer(container, folders);
  for (const file of folders.coldStart ?? []) evictFromPageCache(file);
  const limitBytes = memoryBytes(String(container.resources?.limits?.memory ?? ''));
  return new MeteredProcess(prepared.command, prepared.args, { name, env: prepared.env, cwd: '/', limitBytes });
}

/** Waits for a metered process to exit; resolves with its exit code and log. */
export function exited(process: MeteredProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; log: string }> {
  return new Promise((resolve) => {
    const child = process.child;
    const done = () => setImmediate(() => resolve({ code: child.exitCode, signal: child.signalCode, log: process.log }));
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', done);
  });
}

/** Runs an exec probe's command with the container's mapping, user and environment. */
export function execInContainer(container: any, folders: PodFolders, command: readonly string[]): { status: number | null; output: string } {
  const prepared = prepareContainer(container, folders);
  const mapped = command.map((part) => mapPathsInText(part, prepared.maps));
  const run = spawnSync(securityPrefix(container)[0], [...securityPrefix(container).slice(1), ...mapped], { env: prepared.env, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A folder of symlinks that makes `busybox sh` find busybox's applets first, as in an alpine image. */
export function busyboxAppletDir(dir: string): string {
  const busybox = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();
  fs.mkdirSync(dir, { recursive: true });
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    const link = path.join(dir, applet);
    if (!fs.existsSync(link)) fs.symlinkSync(busybox, link);
  }
  return dir;
}

/** One container's run: exit, log and memory peak (working set, anon, RSS). */
export interface ContainerRun {
  readonly name: string;
  readonly sidecar: boolean;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly log: string;
  readonly peak: import('./footprint').MemorySample;
  readonly method: import('./footprint').MeterMethod;
  /** Wall-clock start and end (ms since the epoch). */
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface PodRun {
  /** Every container ran to success (sidecars ended by SIGTERM count as the pod's end, not a failure). */
  readonly succeeded: boolean;
  /** The first regular container that failed. */
  readonly failed?: string;
  readonly containers: ContainerRun[];
}

/**
 * Runs a pod spec the way the kubelet does: init containers in order (a native sidecar is
 * started and the next step waits for its startup probe; a regular one must exit 0), then the
 * main containers; when the pod ends, successfully or not, the sidecars get SIGTERM.
 */
export async function runPod(spec: any, foldersOf: (container: any) => PodFolders): Promise<PodRun> {
  const runs: ContainerRun[] = [];
  const sidecars: { container: any; process: MeteredProcess }[] = [];
  const started = new Map<MeteredProcess, number>();
  const finish = async (container: any, process: MeteredProcess, sidecar: boolean) => {
    const end = await exited(process);
    const endedAt = Date.now();
    const peak = process.stopPeak();
    await process.stop();
    runs.push({ name: container.name, sidecar, code: end.code, signal: end.signal, log: end.log, peak, method: process.method, startedAt: started.get(process) ?? 0, endedAt });
    return end;
  };
  const endSidecars = async () => {
    for (const { container, process } of sidecars.reverse()) {
      process.child.kill('SIGTERM');
      await finish(container, process, true);
    }
  };
  const steps = [...(spec.initContainers ?? []).map((c: any) => ({ c, init: true })), ...(spec.containers ?? []).map((c: any) => ({ c, init: false }))];
  for (const { c, init } of steps) {
    const process = startContainer(c, foldersOf(c));
    started.set(process, Date.now());
    process.startPeak();
    if (init && c.restartPolicy === 'Always') {
      sidecars.push({ container: c, process });
      const probe = c.startupProbe;
      if (probe?.exec) {
        const deadline = Date.now() + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3) * 1000;
        let last = execInContainer(c, foldersOf(c), probe.exec.command);
        while (last.status !== 0) {
          if (globalThis.process.env.DEBUG_PROBES) console.log(`startup probe of ${c.name}: ${last.status} ${last.output}`);
          last = execInContainer(c, foldersOf(c), probe.exec.command);
          if (process.child.exitCode !== null || Date.now() > deadline) {
            await endSidecars();
            return { succeeded: false, failed: c.name, containers: runs };
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      continue;
    }
    const end = await finish(c, process, false);
    if (end.code !== 0) {
      await endSidecars();
      return { succeeded: false, failed: c.name, containers: runs };
    }
  }
  await endSidecars();
  return { succeeded: true, containers: runs };
}
