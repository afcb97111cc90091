import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { resolveConfig } from '../../lib/config';
import { overrides } from '../../stack.config';
import { KSM_METRIC_FAMILIES } from '../../lib/apps/monitoring/kube-state-metrics';
import { DISKSTATS_DEVICE_EXCLUDE } from '../../lib/apps/monitoring/node-exporter';
import { RunningControlPlane, startControlPlane } from './support/control-plane';
import { DistObject, distConfigMapData, distObject, fullProfileObjects, literalEnv, podSpec } from './support/dist';
import { MemorySample, MeteredProcess, recordFootprint } from './support/footprint';
import { Kube, rejection } from './support/kube';
import { LocalContainer, freePort, layOutContainer, replaceFlag, reportedVersion } from './support/pod-layout';
import { ProbeResult, StartVerdict, runAllProbes, waitForStartAsKubelet } from './support/probes';
import { requireTool } from './support/tools';

/**
 * The monitoring zone's programs, built at the image catalog's versions, started with exactly
 * the args, env, config files and memory limit their manifests give their containers. dist/'s
 * default profile (board-2gb) leaves the monitoring zone out, so the manifests are those of the
 * full profile, synthesized as `npm run synth` writes dist/ (support/dist.ts distObject), and
 * the cluster the programs watch holds the full profile's objects. What differs from the pod, and why:
 * - listen addresses: bound to 127.0.0.1 on free ports (the machine is shared; the probes are
 *   mapped from the container ports to them);
 * - mounted paths: ConfigMaps, claims and Secrets become temp directories (listed per program);
 *   hostPath volumes are this machine's own paths (node-exporter's /host/proc is /proc here);
 * - the Kubernetes API: kube-state-metrics and Prometheus's discovery talk to the suite's real
 *   kube-apiserver with their own ServiceAccount's token (TokenRequest), holding the objects
 *   of the manifests that they watch, instead of the in-cluster address;
 * - Prometheus's scrape and alerting targets: the local programs' addresses (see prometheusConfigHere).
 * The memory limit of each container is set on its cgroup, so programs that read it (Prometheus's
 * automatic GOMEMLIMIT) behave as in the pod. Memory figures are amd64; arm64 is similar or
 * slightly larger.
 */

const NAMESPACE = 'monitoring';
/** Where the configuration comes from, for the reports. */
const SOURCE = 'full profile synthesized as dist/ is; the default board-2gb profile leaves the monitoring zone out of dist/';
/** The configuration the manifests were synthesized from. */
const CONFIG = resolveConfig({ ...overrides, profile: 'full' });
const IMAGES = CONFIG.images;
const SETTLE_MS = 15000;
const ENV_PATH = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

const version = (component: keyof typeof IMAGES) => IMAGES[component].split(':').pop()!.replace(/^v/, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => `${Math.round((bytes / 1024 ** 2) * 10) / 10} MiB`;

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30000) });
  return { status: response.status, text: await response.text() };
}

async function getJson(url: string, init: RequestInit = {}): Promise<any> {
  const { status, text } = await get(url, init);
  if (status < 200 || status >= 300) throw new Error(`${url}: HTTP ${status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

// parse-prometheus-text-format has no type declarations.
const parsePrometheusText: (text: string) => { name: string; type: string; metrics: { value?: string; labels?: Record<string, string> }[] }[] = require('parse-prometheus-text-format');

/** Samples of one gauge or counter family in the text exposition format, with their label sets. */
function samples(text: string, family: string): { labels: Record<string, string>; value: number }[] {
  const found = parsePrometheusText(text).find((f) => f.name === family);
  return (found?.metrics ?? []).map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) }));
}

/** The metric family names a /metrics page exposes. */
function familyNames(text: string): string[] {
  return parsePrometheusText(text).map((f) => f.name);
}

/** Polls `check` until it returns a value, or fails with what it last saw. */
async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(1000);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last})` : ''}`);
}

function expectAllOk(results: ProbeResult[]): void {
  expect(results.map((r) => `${r.kind} ${r.handler}: ${r.ok ? 'ok' : r.detail}`)).toEqual(results.map((r) => `${r.kind} ${r.handler}: ok`));
}

/** The version a binary reports (`--version`, or the `version` command kube-state-metrics has instead). */
function binaryVersion(binary: string, args: string[] = ['--version']): string | undefined {
  const run = spawnSync(binary, args, { encoding: 'utf8' });
  return reportedVersion(`${run.stdout}${run.stderr}`);
}

/** A program of this file: its layout, its process and the local ports of its container ports. */
interface Running {
  readonly layout: LocalContainer;
  readonly process: MeteredProcess;
  readonly ports: Record<number, number>;
  /** How its start went, judged against the kubelet's probe schedule. */
  start?: StartVerdict;
}

function start(name: string, binary: string, layout: LocalContainer, args: string[], ports: Record<number, number>, options: { unlimited?: boolean } = {}): Running {
  const process = new MeteredProcess(binary, args, {
    name,
    env: { ...ENV_PATH, ...literalEnv(layout.container).env },
    cwd: layout.root,
    limitBytes: options.unlimited ? undefined : layout.memoryLimitBytes,
    coldStart: true,
  });
  process.child.on('exit', (code, signal) => {
    if (!stopping.has(process)) console.error(`${name} exited (${code ?? signal}) while the test needed it; last output:\n${process.log.slice(-3000)}`);
  });
  running.push({ layout, process, ports });
  return { layout, process, ports };
}

const running: Running[] = [];
const stopping = new Set<MeteredProcess>();

/** The running program of a workload (extra runs of the same workload are stopped by their tests). */
function live(workload: string): Running {
  const found = running.find((x) => x.layout.workload.metadata.name === workload && !stopping.has(x.process));
  if (!found) throw new Error(`${workload} is not running: its tests above failed to start it`);
  return found;
}

async function stop(r: Running): Promise<void> {
  stopping.add(r.process);
  await r.process.stop();
}

/**
 * Waits until the program is ready, judging its start as the kubelet would (see
 * waitForStartAsKubelet); fails only when it never gets ready, with its memory and log.
 */
async function ready(r: Running): Promise<void> {
  try {
    r.start = await waitForStartAsKubelet(r.layout.container, { portMap: r.ports });
  } catch (error) {
    throw new Error(`${error}\nmemory of its cgroup now: ${JSON.stringify(r.process.sample())}\nlast output of the program:\n${r.process.log.slice(-4000)}`);
  }
}

/** The kubelet's verdict on a start, as a test: ready before its probes would have restarted it. */
function expectStartedInTime(r: Running): void {
  expect(r.start).toBeDefined();
  expect(r.start!.wouldRestart ?? 'ready in time').toBe('ready in time');
}

/**
 * The checks every program here gets: the binary is the catalog's version, it became ready before
 * its probes would have made the kubelet restart it, and every probe of its container passes.
 */
function startChecks(component: keyof typeof IMAGES, binary: () => string, running: () => Running, versionArgs?: string[]): void {
  test(`is the catalog's version (${version(component)})`, () => {
    expect(binaryVersion(binary(), versionArgs)).toBe(version(component));
  });

  test('under its memory limit, becomes ready before its probes would make the kubelet restart it', () => {
    expectStartedInTime(running());
  });

  test('answers every probe its manifest defines', async () => {
    const r = running();
    expectAllOk(await runAllProbes(r.layout.container, { portMap: r.ports }));
  });
}

/** Idle after settling, then the peak while `load` runs. */
async function measure(r: Running, load: () => Promise<void>): Promise<{ idle: MemorySample; load: MemorySample }> {
  await sleep(SETTLE_MS);
  const idle = r.process.sample();
  r.process.startPeak();
  await load();
  return { idle, load: r.process.stopPeak() };
}

const conditionsHere = (r: Running) =>
  `ready ${r.start ? Math.round(r.start.readyAfterMs / 100) / 10 : '?'} s after start${r.start?.wouldRestart ? ` (the kubelet would have restarted it: ${r.start.wouldRestart})` : ''}; amd64, cgroup memory limit ${mib(r.layout.memoryLimitBytes)} from the manifest (the container's limits.memory), CPU not limited, executable evicted from the page cache before start (its code counts, as on a first start after boot)`;

// ---------------------------------------------------------------------------------------------
// The suite's kube-apiserver, holding the objects of the full profile that kube-state-metrics
// and Prometheus's discovery watch, as the cluster would.

let apiserver: RunningControlPlane;
let kube: Kube;
let caFile: string;
const WATCHED_KINDS = ['Namespace', 'PriorityClass', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'PersistentVolume', 'PersistentVolumeClaim', 'Deployment', 'DaemonSet', 'StatefulSet', 'CronJob', 'Service'];
const WORKLOAD_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet'];
let podsCreated = 0;
let objectsCreated = 0;

/** The Pod a controller would create from a workload's template (the apiserver runs no controllers). */
function podOf(workload: DistObject): DistObject {
  const template = workload.spec.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${workload.metadata.name}-0`, namespace: workload.metadata.namespace, labels: template.metadata?.labels, annotations: template.metadata?.annotations },
    spec: { ...podSpec(workload), nodeName: CONFIG.storage.nodeName },
  };
}

/** A token of a ServiceAccount (TokenRequest API), and a kubeconfig that uses it. */
async function serviceAccountToken(namespace: string, name: string): Promise<{ token: string; kubeconfig: string }> {
  const result = await kube.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  if (result.status !== 201) throw new Error(`token for ${namespace}/${name}: ${rejection(result)}`);
  const token: string = result.body.status.token;
  const kubeconfig = path.join(path.dirname(apiserver.kubeconfig), `${namespace}-${name}.kubeconfig`);
  fs.writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: apiserver.url, 'certificate-authority': caFile } }],
      users: [{ name, user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: name } }],
      'current-context': 'local',
    }),
  );
  return { token, kubeconfig };
}

beforeAll(async () => {
  // The apiserver alone: objects are stored, no controller or kubelet acts on them.
  apiserver = await startControlPlane();
  kube = await Kube.connect(apiserver.kubeconfig);
  const admin = parse(fs.readFileSync(apiserver.kubeconfig, 'utf8'));
  caFile = path.join(path.dirname(apiserver.kubeconfig), 'ca.crt');
  const cluster = admin.clusters[0].cluster;
  fs.writeFileSync(caFile, cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64') : fs.readFileSync(cluster['certificate-authority']));
  const objects = fullProfileObjects().filter((o) => WATCHED_KINDS.includes(o.kind));
  const failures: string[] = [];
  for (const kind of WATCHED_KINDS) {
    for (const object of objects.filter((o) => o.kind === kind)) {
      const created = await kube.create(object);
      if (created.status === 201) objectsCreated++;
      else if (created.status !== 409) failures.push(`${kind} ${object.metadata.name}: ${rejection(created)}`);
    }
  }
  const node = await kube.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: CONFIG.storage.nodeName, labels: { 'kubernetes.io/hostname': CONFIG.storage.nodeName } } });
  if (node.status !== 201) failures.push(`Node: ${rejection(node)}`);
  for (const workload of objects.filter((o) => WORKLOAD_KINDS.includes(o.kind))) {
    const created = await kube.create(podOf(workload));
    if (created.status === 201) podsCreated++;
    else failures.push(`Pod of ${workload.kind} ${workload.metadata.name}: ${rejection(created)}`);
  }
  if (failures.length > 0) throw new Error(`the apiserver refused objects of the full profile:\n${failures.join('\n')}`);
  console.log(`kube-apiserver at ${apiserver.url}: ${objectsCreated} objects of the full profile, 1 Node and ${podsCreated} Pods from the workloads' templates`);
});

afterAll(async () => {
  for (const r of running) {
    await stop(r);
    r.layout.cleanup();
  }
  await apiserver?.stop();
});

// ---------------------------------------------------------------------------------------------
describe('node-exporter', () => {
  const binary = () => requireTool('node_exporter', 'NODE_EXPORTER_BIN');
  let r: Running;

  beforeAll(async () => {
    const layout = layOutContainer('DaemonSet', NAMESPACE, 'node-exporter', 'node-exporter');
    const port = await freePort();
    r = start('node-exporter', binary(), layout, replaceFlag(layout.args, '--web.listen-address', `127.0.0.1:${port}`), { 9100: port });
    console.log(`node-exporter differs from the pod in: ${layout.differences.join('; ')}`);
    await ready(r);
  });

  startChecks('node-exporter', binary, () => r);

  test('every collector the flags enable scrapes without error', async () => {
    const { text } = await get(`http://127.0.0.1:${r.ports[9100]}/metrics`);
    const enabled = r.layout.args.filter((a) => /^--collector\.[a-z_]+$/.test(a) && a !== '--collector.disable-defaults').map((a) => a.slice('--collector.'.length));
    const success = samples(text, 'node_scrape_collector_success');
    expect(success.map((s) => s.labels.collector).sort()).toEqual([...enabled].sort());
    expect(success.filter((s) => s.value !== 1).map((s) => s.labels.collector)).toEqual([]);
  });

  test("disk statistics keep this machine's whole disks and drop its loop and zram devices", async () => {
    const devices = fs
      .readFileSync('/proc/diskstats', 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[2]);
    const { text } = await get(`http://127.0.0.1:${r.ports[9100]}/metrics`);
    const reported = new Set(samples(text, 'node_disk_reads_completed_total').map((s) => s.labels.device));
    const virtual = devices.filter((d) => /^(loop|z?ram|dm-)[0-9]+$/.test(d));
    for (const d of virtual) expect([d, reported.has(d)]).toEqual([d, false]);
    // At least one whole disk is reported, and everything reported is a device of this machine.
    expect(reported.size).toBeGreaterThan(0);
    for (const d of reported) expect([d, devices.includes(d)]).toEqual([d, true]);
  });

  test('disk statistics of the board: the SD card and USB disks pass, partitions and virtual devices do not (fixed /proc/diskstats)', async () => {
    // A procfs holding only the board's diskstats; the other collectors then fail here, which
    // this test does not look at.
    const procfs = path.join(r.layout.root, 'board-proc');
    fs.mkdirSync(procfs, { recursive: true });
    const board = ['mmcblk0', 'mmcblk0p1', 'mmcblk0p2', 'mmcblk0boot0', 'sda', 'sda1', 'sdb', 'sdb1', 'loop0', 'zram0', 'dm-0'];
    fs.writeFileSync(path.join(procfs, 'diskstats'), board.map((d, i) => `   8 ${i} ${d} ${Array.from({ length: 17 }, (_, j) => j + 1).join(' ')}`).join('\n') + '\n');
    const port = await freePort();
    const args = replaceFlag(replaceFlag(r.layout.args, '--web.listen-address', `127.0.0.1:${port}`), '--path.procfs', procfs);
    expect(args).toContain(`--collector.diskstats.device-exclude=${DISKSTATS_DEVICE_EXCLUDE}`);
    const board_ = start('node-exporter-board', binary(), r.layout, args, { 9100: port });
    try {
      await ready(board_);
      const { text } = await get(`http://127.0.0.1:${port}/metrics`);
      const reported = samples(text, 'node_disk_reads_completed_total').map((s) => s.labels.device).sort();
      expect(reported).toEqual(['mmcblk0', 'sda', 'sdb']);
    } finally {
      await stop(board_);
    }
  });

  test('the include filter the manifests used to carry is refused by the real program (the defect this test catches)', () => {
    const args = [...r.layout.args.filter((a) => !a.startsWith('--collector.diskstats.device-exclude')), '--collector.diskstats.device-include=^(sd[a-z]+|mmcblk[0-9]+)$'];
    const run = spawnSync(binary(), replaceFlag(args, '--web.listen-address', '127.0.0.1:0'), { encoding: 'utf8', timeout: 20000 });
    expect(run.status).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain('mutually exclusive');
  });

  test('memory idle and while scraped', async () => {
    const scrapes = 60;
    const m = await measure(r, async () => {
      for (let i = 0; i < scrapes; i++) expect((await get(`http://127.0.0.1:${r.ports[9100]}/metrics`)).status).toBe(200);
    });
    recordFootprint({
      component: 'node-exporter',
      container: 'node-exporter',
      program: `node_exporter ${version('node-exporter')} (built from the Go module at the image's version)`,
      configuration: `generated flags (${SOURCE}, DaemonSet monitoring/node-exporter); /host/proc, /host/sys, /host/root are this machine's /proc, /sys, /`,
      conditions: {
        idle: `${SETTLE_MS / 1000} s after the readiness probe passed, no scrape; ${conditionsHere(r)}`,
        load: `${scrapes} back-to-back scrapes of /metrics on loopback; ${conditionsHere(r)}`,
      },
      method: r.process.method,
      ...m,
    });
    expect(m.idle.workingSet).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
describe('kube-state-metrics', () => {
  const binary = () => requireTool('kube-state-metrics', 'KUBE_STATE_METRICS_BIN');
  let r: Running;

  async function startKsm(name: string, serviceAccount: string, layout: LocalContainer, options: { unlimited?: boolean } = {}): Promise<Running> {
    const [metrics, telemetry] = [await freePort(), await freePort()];
    const { kubeconfig } = await serviceAccountToken(NAMESPACE, serviceAccount);
    let args = replaceFlag(layout.args, '--port', String(metrics));
    args = replaceFlag(args, '--telemetry-port', String(telemetry));
    // In the pod it reads the in-cluster address and its ServiceAccount's token; here a kubeconfig with that token.
    args = [...args, '--host=127.0.0.1', '--telemetry-host=127.0.0.1', `--kubeconfig=${kubeconfig}`];
    return start(name, binary(), layout, args, { 8080: metrics, 8081: telemetry }, options);
  }

  let unconstrained: MemorySample | undefined;

  beforeAll(async () => {
    const layout = layOutContainer('Deployment', NAMESPACE, 'kube-state-metrics', 'kube-state-metrics');
    // First without a limit (nothing else maps the binary yet, so its code is charged to this run):
    // what the program holds when nothing squeezes it, the evidence for its limit.
    const free = await startKsm('kube-state-metrics-unlimited', 'kube-state-metrics', layout, { unlimited: true });
    try {
      await ready(free);
      await sleep(SETTLE_MS);
      unconstrained = free.process.sample();
      console.log(`kube-state-metrics without a memory limit, ready after ${free.start!.readyAfterMs} ms, ${SETTLE_MS / 1000} s later: working set ${mib(unconstrained.workingSet)}, anon ${mib(unconstrained.anon)}, mapped files ${mib(unconstrained.mappedFile ?? 0)}, RSS ${mib(unconstrained.rss)}`);
    } finally {
      await stop(free);
    }
    r = await startKsm('kube-state-metrics', 'kube-state-metrics', layout);
    await ready(r);
  });

  startChecks('kube-state-metrics', binary, () => r, ['version']);

  test("lists every resource its flags name with the ClusterRole of its manifest (its own ServiceAccount's token)", async () => {
    const resources = r.layout.args.find((a) => a.startsWith('--resources='))!.split('=')[1].split(',');
    const lists = await eventually('a successful list of every watched resource', 30000, async () => {
      const found = samples((await get(`http://127.0.0.1:${r.ports[8081]}/metrics`)).text, 'kube_state_metrics_list_total');
      const ok = new Set(found.filter((s) => s.labels.result === 'success' && s.value > 0).map((s) => s.labels.resource));
      return ok.size >= resources.length ? found : undefined;
    });
    expect(lists.filter((s) => s.labels.result === 'error' && s.value > 0)).toEqual([]);
  });

  test('exports only the allow-listed families, and the ones the rules read carry the objects of the cluster', async () => {
    const { text } = await get(`http://127.0.0.1:${r.ports[8080]}/metrics`);
    const families = new Set(familyNames(text));
    // The families the project means to export; the program decides what its --metric-allowlist lets through.
    expect([...families].filter((f) => !(KSM_METRIC_FAMILIES as readonly string[]).includes(f))).toEqual([]);
    const gitea = samples(text, 'kube_deployment_spec_replicas').find((s) => s.labels.namespace === 'apps' && s.labels.deployment === 'gitea');
    expect(gitea?.value).toBe(1);
    expect(samples(text, 'kube_pod_info').length).toBe(podsCreated);
    expect(samples(text, 'kube_cronjob_info').map((s) => s.labels.cronjob)).toEqual(expect.arrayContaining(['kopia-snapshot']));
  });

  test('a ServiceAccount without the ClusterRole cannot list (the RBAC check can fail)', async () => {
    const created = await kube.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-access', namespace: NAMESPACE } });
    expect(created.status).toBe(201);
    const denied = await startKsm('kube-state-metrics-denied', 'no-access', r.layout);
    try {
      const errors = await eventually('list errors for a ServiceAccount without rights', 30000, async () => {
        const found = samples((await get(`http://127.0.0.1:${denied.ports[8081]}/metrics`)).text, 'kube_state_metrics_list_total');
        const failed = found.filter((s) => s.labels.result === 'error' && s.value > 0);
        return failed.length > 0 ? failed : undefined;
      });
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await stop(denied);
    }
  });

  test('memory idle and while scraped', async () => {
    const scrapes = 30;
    const m = await measure(r, async () => {
      for (let i = 0; i < scrapes; i++) {
        expect((await get(`http://127.0.0.1:${r.ports[8080]}/metrics`)).status).toBe(200);
        expect((await get(`http://127.0.0.1:${r.ports[8081]}/metrics`)).status).toBe(200);
      }
    });
    recordFootprint({
      component: 'kube-state-metrics',
      container: 'kube-state-metrics',
      program: `kube-state-metrics ${version('kube-state-metrics')} (built from the Go module at the image's version)`,
      configuration: `generated flags (${SOURCE}, Deployment monitoring/kube-state-metrics), a token of its ServiceAccount with its ClusterRole; a kubeconfig instead of the in-cluster address`,
      conditions: {
        idle: `${SETTLE_MS / 1000} s after readiness, watching the suite's kube-apiserver holding ${objectsCreated} objects of the full profile and ${podsCreated} Pods made from its workload templates; ${conditionsHere(r)}${unconstrained ? `. The same start without a limit: working set ${mib(unconstrained.workingSet)}, anon ${mib(unconstrained.anon)}, mapped files ${mib(unconstrained.mappedFile ?? 0)}` : ''}`,
        load: `${scrapes} scrapes each of /metrics and the telemetry port, back to back on loopback; ${conditionsHere(r)}`,
      },
      method: r.process.method,
      ...m,
    });
    expect(m.idle.workingSet).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
describe('alertmanager', () => {
  const binary = () => requireTool('alertmanager', 'ALERTMANAGER_BIN');
  let r: Running;
  let base: string;

  beforeAll(async () => {
    const layout = layOutContainer('Deployment', NAMESPACE, 'alertmanager', 'alertmanager');
    const port = await freePort();
    r = start('alertmanager', binary(), layout, replaceFlag(layout.args, '--web.listen-address', `127.0.0.1:${port}`), { 9093: port });
    base = `http://127.0.0.1:${port}`;
    console.log(`alertmanager differs from the pod in: ${layout.differences.join('; ')}`);
    await ready(r);
  });

  startChecks('alertmanager', binary, () => r);

  test('runs the generated configuration: its receivers, routes and inhibit rules, gossip off', async () => {
    // The configuration it loaded is the generated one (as Alertmanager re-renders it, with defaults filled in).
    const status = await getJson(`${base}/api/v2/status`);
    const loaded = parse(status.config.original);
    const shipped = parse(distConfigMapData(NAMESPACE, 'alertmanager-config', 'alertmanager.yml'));
    expect(loaded.receivers.map((x: any) => x.name)).toEqual(shipped.receivers.map((x: any) => x.name));
    expect(loaded.route.routes.map((x: any) => x.receiver)).toEqual(shipped.route.routes.map((x: any) => x.receiver));
    expect(loaded.inhibit_rules).toHaveLength(shipped.inhibit_rules.length);
    // One replica: the empty --cluster.listen-address turns gossip off.
    expect(status.cluster.status).toBe('disabled');
  });

  const batches = 10;
  const perBatch = 20;
  const severities = ['critical', 'warning', 'info'];

  test('memory idle and while a bounded batch of alerts arrives; alerts are routed by severity and inhibited as configured', async () => {
    const now = new Date().toISOString();
    const m = await measure(r, async () => {
      for (let b = 0; b < batches; b++) {
        const alerts = Array.from({ length: perBatch }, (_, i) => {
          const n = b * perBatch + i;
          return { labels: { alertname: `LoadTest${n}`, severity: severities[n % 3], namespace: 'apps', instance: `target-${n}` }, annotations: { summary: 'load' }, startsAt: now };
        });
        const posted = await get(`${base}/api/v2/alerts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(alerts) });
        expect(posted.status).toBe(200);
      }
      // A dead VPN pod with its symptoms: the symptoms must be inhibited by the generated rules.
      const vpn = [
        { labels: { alertname: 'VpnDown', severity: 'critical', namespace: 'vpn' }, startsAt: now },
        { labels: { alertname: 'ServiceDown', severity: 'critical', namespace: 'vpn', deployment: 'vpn' }, startsAt: now },
      ];
      expect((await get(`${base}/api/v2/alerts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(vpn) })).status).toBe(200);
      const listed: any[] = await getJson(`${base}/api/v2/alerts`);
      expect(listed.filter((a) => a.labels.alertname.startsWith('LoadTest')).length).toBe(batches * perBatch);
    });
    const alerts: any[] = await getJson(`${base}/api/v2/alerts`);
    const receiversOf = (severity: string) => new Set(alerts.filter((a) => a.labels.severity === severity && a.labels.alertname.startsWith('LoadTest')).flatMap((a) => a.receivers.map((x: any) => x.name)));
    expect([...receiversOf('critical')]).toEqual(['critical']);
    expect([...receiversOf('warning')]).toEqual(['warning']);
    expect([...receiversOf('info')]).toEqual(['null']);
    const serviceDown = await eventually('ServiceDown inhibited by VpnDown', 20000, async () => {
      const found = ((await getJson(`${base}/api/v2/alerts?filter=alertname%3D%22ServiceDown%22`)) as any[])[0];
      return found?.status?.inhibitedBy?.length > 0 ? found : undefined;
    });
    expect(serviceDown.status.state).toBe('suppressed');
    recordFootprint({
      component: 'alertmanager',
      container: 'alertmanager',
      program: `alertmanager ${version('alertmanager')} (built from the Go module at the image's version)`,
      configuration: `generated alertmanager.yml (ConfigMap monitoring/alertmanager-config, no receiver channel enabled by default) and flags (${SOURCE}); data directory empty at start`,
      conditions: {
        idle: `${SETTLE_MS / 1000} s after readiness, no alerts; ${conditionsHere(r)}`,
        load: `${batches} POSTs of ${perBatch} alerts each (${batches * perBatch} alerts, 3 severities) plus 2 for inhibition, and 1 listing, on loopback; ${conditionsHere(r)}`,
      },
      method: r.process.method,
      ...m,
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe('prometheus', () => {
  const binary = () => requireTool('prometheus', 'PROMETHEUS_BIN');
  const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
  let r: Running;
  let base: string;
  let saToken: string;

  /** The static target group a pod of `workload` would be discovered as (role: pod), for each of its container ports. */
  function podTargetGroups(workload: DistObject, containerName: string, localPort: (containerPort: number) => number): unknown[] {
    const template = workload.spec.template;
    const container = podSpec(workload).containers.find((c: any) => c.name === containerName);
    const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');
    const meta: Record<string, string> = {
      __meta_kubernetes_namespace: workload.metadata.namespace!,
      __meta_kubernetes_pod_name: `${workload.metadata.name}-0`,
      __meta_kubernetes_pod_node_name: CONFIG.storage.nodeName,
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_ip: '127.0.0.1',
      __meta_kubernetes_pod_container_name: containerName,
    };
    for (const [k, v] of Object.entries(template.metadata?.labels ?? {})) meta[`__meta_kubernetes_pod_label_${sanitize(k)}`] = String(v);
    for (const [k, v] of Object.entries(template.metadata?.annotations ?? {})) meta[`__meta_kubernetes_pod_annotation_${sanitize(k)}`] = String(v);
    return (container.ports ?? []).map((p: any) => ({
      targets: [`127.0.0.1:${localPort(p.containerPort)}`],
      labels: { ...meta, __meta_kubernetes_pod_container_port_name: p.name ?? '', __meta_kubernetes_pod_container_port_number: String(p.containerPort) },
    }));
  }

  /**
   * The generated prometheus.yml with only addresses changed: the pods of node-exporter and
   * kube-state-metrics are the local programs (a static target per container port carrying the
   * labels pod discovery would give, so the generated relabel rules run unchanged); every other
   * Kubernetes discovery goes to the suite's apiserver with the pod's ServiceAccount token file
   * (in the pod, client-go finds the in-cluster address by itself); the self-scrape and the
   * Alertmanager target are the local ports.
   */
  function prometheusConfigHere(text: string, saDir: string, ports: { self: number; alertmanager: number; nodeExporter: Record<number, number>; ksm: Record<number, number> }): string {
    const config = parse(text);
    const local: Record<string, DistObject> = {
      'node-exporter': distObject('DaemonSet', NAMESPACE, 'node-exporter'),
      'kube-state-metrics': distObject('Deployment', NAMESPACE, 'kube-state-metrics'),
    };
    const localPorts: Record<string, Record<number, number>> = { 'node-exporter': ports.nodeExporter, 'kube-state-metrics': ports.ksm };
    for (const job of config.scrape_configs) {
      if (local[job.job_name]) {
        expect(job.kubernetes_sd_configs).toHaveLength(1);
        delete job.kubernetes_sd_configs;
        job.static_configs = podTargetGroups(local[job.job_name], job.job_name, (p) => localPorts[job.job_name][p] ?? 1);
      } else {
        for (const sd of job.kubernetes_sd_configs ?? []) {
          Object.assign(sd, { api_server: apiserver.url, authorization: { credentials_file: `${saDir}/token` }, tls_config: { ca_file: `${saDir}/ca.crt` } });
        }
        for (const sc of job.static_configs ?? []) sc.targets = sc.targets.map((t: string) => (t === 'localhost:9090' ? `127.0.0.1:${ports.self}` : t));
      }
    }
    for (const am of config.alerting?.alertmanagers ?? []) {
      for (const sc of am.static_configs) sc.targets = sc.targets.map(() => `127.0.0.1:${ports.alertmanager}`);
    }
    return stringify(config, { lineWidth: 0 });
  }

  beforeAll(async () => {
    const saDir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-prometheus-sa-'));
    const layout = layOutContainer('Deployment', NAMESPACE, 'prometheus', 'prometheus', { extraMounts: { [SA_DIR]: saDir } });
    saToken = (await serviceAccountToken(NAMESPACE, 'prometheus')).token;
    fs.writeFileSync(path.join(saDir, 'token'), saToken);
    fs.copyFileSync(caFile, path.join(saDir, 'ca.crt'));
    const port = await freePort();
    const [nodeExporter, ksm, alertmanager] = [live('node-exporter'), live('kube-state-metrics'), live('alertmanager')];
    const configFile = layout.args.find((a) => a.startsWith('--config.file='))!.split('=')[1];
    const configText = layout.rewritePaths(fs.readFileSync(configFile, 'utf8'));
    fs.writeFileSync(configFile, prometheusConfigHere(configText, saDir, { self: port, alertmanager: alertmanager.ports[9093], nodeExporter: nodeExporter.ports, ksm: ksm.ports }));
    r = start('prometheus', binary(), layout, replaceFlag(layout.args, '--web.listen-address', `127.0.0.1:${port}`), { 9090: port });
    base = `http://127.0.0.1:${port}`;
    console.log(`prometheus differs from the pod in: ${layout.differences.join('; ')}; scrape and alerting addresses are local (see prometheusConfigHere)`);
    await ready(r);
  });

  startChecks('prometheus', binary, () => r);

  test("sets GOMEMLIMIT from the container's memory limit, as in the pod", async () => {
    const { text } = await get(`${base}/metrics`);
    const limit = samples(text, 'go_gc_gomemlimit_bytes')[0]?.value;
    // Prometheus 3 takes 90 % of the cgroup limit by default (--auto-gomemlimit.ratio).
    expect(limit).toBe(Math.floor(r.layout.memoryLimitBytes * 0.9));
  });

  test('loads every rule group of the rules ConfigMap', async () => {
    const shipped = parse(distConfigMapData(NAMESPACE, 'prometheus-rules', 'potatostack-alerts.yml'));
    const loaded = await getJson(`${base}/api/v1/rules`);
    expect(loaded.data.groups.map((g: any) => g.name).sort()).toEqual(shipped.groups.map((g: any) => g.name).sort());
    expect(loaded.data.groups.flatMap((g: any) => g.rules).length).toBe(shipped.groups.flatMap((g: any) => g.rules).length);
  });

  test('scrapes node-exporter and kube-state-metrics through the generated relabel rules, with their metric filters', async () => {
    const targets = await eventually('node-exporter and kube-state-metrics scraped', 90000, async () => {
      const active: any[] = (await getJson(`${base}/api/v1/targets?state=active`)).data.activeTargets;
      const up = (job: string) => active.filter((t) => t.labels.job === job && t.health === 'up');
      return up('node-exporter').length === 1 && up('kube-state-metrics').length === 1 ? active : undefined;
    });
    const nodeExporter = targets.find((t: any) => t.labels.job === 'node-exporter');
    expect(nodeExporter.labels.instance).toBe(CONFIG.storage.nodeName);
    // The telemetry port of kube-state-metrics is not a target: only ports named "metrics" are kept.
    expect(targets.filter((t: any) => t.labels.job === 'kube-state-metrics')).toHaveLength(1);
    const query = async (q: string) => (await getJson(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)).data.result;
    expect(await query('count({job="node-exporter", __name__=~"go_.+|process_.+"})')).toEqual([]);
    expect(Number((await query('count({job="node-exporter", __name__=~"node_.+"})'))[0].value[1])).toBeGreaterThan(50);
    expect((await query('kube_deployment_spec_replicas{namespace="apps", deployment="gitea"}')).length).toBe(1);
  });

  test("discovers through the apiserver with its own ServiceAccount's ClusterRole, without errors", async () => {
    const { text } = await get(`${base}/metrics`);
    const failures = samples(text, 'prometheus_sd_kubernetes_failures_total');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.filter((s) => s.value > 0)).toEqual([]);
    const events = samples(text, 'prometheus_sd_kubernetes_events_total').filter((s) => s.value > 0);
    expect(r.process.log.split('\n').filter((l) => /Cannot create service discovery/.test(l))).toEqual([]);
    // Every Pod of the cluster was seen by the all-namespaces pod discovery of the `pods` job.
    const podAdds = events.find((s) => s.labels.role === 'pod' && s.labels.event === 'add')?.value ?? 0;
    expect(podAdds).toBeGreaterThanOrEqual(podsCreated);
  });

  test('the Watchdog alert reaches Alertmanager through the generated alerting config', async () => {
    const alertmanager = live('alertmanager');
    const watchdog = await eventually('Watchdog at Alertmanager', 150000, async () => {
      const alerts: any[] = await getJson(`http://127.0.0.1:${alertmanager.ports[9093]}/api/v2/alerts?filter=alertname%3D%22Watchdog%22`);
      return alerts[0];
    });
    expect(watchdog.labels).toMatchObject({ severity: 'info', cluster: 'potatostack' });
    expect(watchdog.receivers.map((x: any) => x.name)).toEqual(['null']);
  });

  test('memory idle and while running the queries of the dashboards and alert rules', async () => {
    const rules = parse(distConfigMapData(NAMESPACE, 'prometheus-rules', 'potatostack-alerts.yml'));
    const alertExprs: string[] = rules.groups.flatMap((g: any) => g.rules.map((x: any) => x.expr));
    const boards = distObject('ConfigMap', NAMESPACE, 'grafana-dashboards').data as Record<string, string>;
    const dashboardExprs: string[] = Object.values(boards).flatMap((json) =>
      JSON.parse(json)
        .panels.flatMap((p: any) => (p.targets ?? []).filter((t: any) => (t.datasource?.uid ?? p.datasource?.uid ?? 'prometheus') === 'prometheus' && t.expr))
        .map((t: any) => t.expr.replace(/\$namespace/g, '.*')),
    );
    const exprs = [...new Set([...dashboardExprs, ...alertExprs])];
    const end = Math.floor(Date.now() / 1000);
    const failed: string[] = [];
    const m = await measure(r, async () => {
      for (const q of exprs) {
        const instant = await get(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
        const range = await get(`${base}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${end - 6 * 3600}&end=${end}&step=60`);
        if (instant.status !== 200) failed.push(`instant ${q}: ${instant.text.slice(0, 200)}`);
        if (range.status !== 200) failed.push(`range ${q}: ${range.text.slice(0, 200)}`);
      }
    });
    expect(failed).toEqual([]);
    recordFootprint({
      component: 'prometheus',
      container: 'prometheus',
      program: `prometheus ${version('prometheus')} (built from the Go module v0.${Number(version('prometheus').split('.')[0]) * 100 + Number(version('prometheus').split('.')[1])}.${version('prometheus').split('.')[2]}, without the web UI assets)`,
      configuration:
        `generated prometheus.yml, rules and flags (${SOURCE}); scrape targets node-exporter and kube-state-metrics are the local programs, the other discovery jobs watch the suite apiserver (no targets there), alerts go to the local Alertmanager; empty TSDB at start`,
      conditions: {
        idle: `${SETTLE_MS / 1000} s after the checks above (scraping 3 targets every 60 s, rules evaluating); ${conditionsHere(r)}`,
        load: `${exprs.length} distinct queries (${dashboardExprs.length} dashboard panel queries with $namespace = .*, ${alertExprs.length} alert rule expressions), each once as an instant query and once as a 6 h range query with a 60 s step, sequentially on loopback, over the few minutes of data this run scraped; ${conditionsHere(r)}`,
      },
      method: r.process.method,
      ...m,
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe('a stopped program fails its probes (the probe checks can fail)', () => {
  test.each(['node-exporter', 'kube-state-metrics', 'alertmanager', 'prometheus'])('%s', async (name) => {
    const r = live(name);
    await stop(r);
    const results = await runAllProbes(r.layout.container, { portMap: r.ports });
    expect(results.filter((x) => x.ok)).toEqual([]);
  });
});
