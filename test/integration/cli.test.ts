/**
 * The potatostack CLI against the real kube-apiserver (tools/bin/control-plane without controllers), run as the
 * operator runs it (`cli/bin.js` in its own process). This API server has no kubelet and no
 * controllers, so the test plays their part where a command needs one, and says so:
 * - the storage Node is created by the test, with the status a k3s kubelet reports;
 * - the preflight disk pod is "run" by the test: it executes the exact script of the Pod the
 *   CLI submitted, under busybox, against real tmpfs mounts, and writes the output into the
 *   Pod's status as the kubelet would (terminated state, termination message);
 * - rollouts, bound claims and the backup CronJob's last success are written to the objects'
 *   status subresources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { resolveConfig } from '../../lib/config';
import { computeBudget } from '../../lib/budget';
import { secretReferences } from '../../lib/docs';
import { requiredSecrets } from '../../cli/shared/secret-catalog';
import { RunningControlPlane, startControlPlane } from './support/control-plane';
import { CliRun, makeProject, runCli } from './support/cli';
import { installCrds } from './support/crds';
import { Kube, KubeObject, loadManifests, rejection } from './support/kube';
import { freePort } from './support/load';
import { ROOT, requireTool } from './support/tools';

const DIST = loadManifests(path.join(ROOT, 'dist')).map((m) => m.object);
const config = resolveConfig(require(path.join(ROOT, 'stack.config.ts')).overrides);
const NODE = config.storage.nodeName;
const ROLLOUT_KINDS = ['Deployment', 'DaemonSet'];
/** The Secrets dist/ reads, as the CLI counts them. */
const REQUIRED_SECRETS = requiredSecrets(config, secretReferences(config, DIST)).length;
/** What the generated kubelet settings hold back from MemTotal (eviction, system- and kube-reserved). */
const budgetNode = computeBudget(config, DIST).node;
const RESERVED_MI = Math.round((budgetNode.capacity - budgetNode.allocatable) / 1048576);

let server: RunningControlPlane;
let kube: Kube;
let env: Record<string, string>;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-cli-'));
const disks = { main: path.join(work, 'main'), cache: path.join(work, 'cache') };
const envFile = path.join(work, 'secrets.env');
let busybox: string;

const cli = (...args: string[]): Promise<CliRun> => runCli(args, env);
const output = (run: CliRun) => `${run.stdout}${run.stderr}`;

async function ok(result: Promise<{ status: number; body: any }> | { status: number; body: any }, what: string): Promise<any> {
  const r = await result;
  if (r.status >= 300) throw new Error(`${what}: ${rejection(r as any)}`);
  return r.body;
}

async function patchStatus(object: KubeObject, status: object): Promise<void> {
  await ok(kube.request('PATCH', `${await kube.pathOf(object)}/status`, { status }, 'application/merge-patch+json'), `status of ${object.kind} ${object.metadata.name}`);
}

async function get(object: KubeObject): Promise<any> {
  const r = await kube.request('GET', await kube.pathOf(object));
  return r.status === 404 ? undefined : r.body;
}

/** The storage node as a k3s kubelet on the board reports it. */
async function setNode(status: { kubeletVersion: string; architecture: string; memory: string; address: string; allocatable?: string }): Promise<void> {
  const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE, 'kubernetes.io/arch': status.architecture } } };
  if (!(await get(node))) await ok(kube.create(node), 'node');
  await patchStatus(node, {
    capacity: { memory: status.memory, cpu: '4', pods: '110' },
    allocatable: { memory: status.allocatable ?? status.memory, cpu: '4', pods: '110' },
    addresses: [
      { type: 'InternalIP', address: status.address },
      { type: 'Hostname', address: NODE },
    ],
    nodeInfo: {
      architecture: status.architecture,
      kubeletVersion: status.kubeletVersion,
      kubeProxyVersion: status.kubeletVersion,
      operatingSystem: 'linux',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      kernelVersion: '6.1.0',
      containerRuntimeVersion: 'containerd://1.7.27-k3s1',
      bootID: 'b',
      machineID: 'm',
      systemUUID: 's',
    },
  });
}

async function setTraefikChart(file: string): Promise<void> {
  const chart: KubeObject = { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'traefik', namespace: 'kube-system' }, spec: { chart: `https://%{KUBERNETES_API}%/static/charts/${file}` } };
  const existing = await get(chart);
  if (existing) await ok(kube.request('PATCH', await kube.pathOf(chart), { spec: chart.spec }, 'application/merge-patch+json'), 'HelmChart');
  else await ok(kube.create(chart), 'HelmChart');
}

/**
 * Plays the kubelet for the preflight disk pods until stopped: runs the pod's own script under
 * busybox with the disk folders of this test in place of the host paths, and reports the result
 * as the pod's terminated state.
 */
function fakeKubeletForDiskChecks(): { stop(): void; seen: KubeObject[] } {
  const seen: KubeObject[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const pods = await kube.request('GET', '/api/v1/namespaces/kube-system/pods?labelSelector=app.kubernetes.io%2Fname%3Dpotatostack-preflight');
      for (const pod of pods.body.items ?? []) {
        if (pod.status?.containerStatuses || seen.some((p) => p.metadata.name === pod.metadata.name)) continue;
        seen.push(pod);
        const container = pod.spec.containers[0];
        const out = path.join(work, `${pod.metadata.name}.out`);
        const run = spawnSync(path.join(busybox, 'sh'), ['-c', container.command[2]], {
          encoding: 'utf8',
          env: { PATH: busybox, OUT: out, PROC: '/proc', MAIN_PATH: disks.main, MAIN_DIR: disks.main, CACHE_PATH: disks.cache, CACHE_DIR: disks.cache },
        });
        const terminated = { exitCode: run.status, reason: run.status === 0 ? 'Completed' : 'Error', message: fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : run.stderr };
        await patchStatus({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, {
          phase: run.status === 0 ? 'Succeeded' : 'Failed',
          containerStatuses: [{ name: container.name, ready: false, restartCount: 0, image: container.image, imageID: '', state: { terminated } }],
        });
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  loop().catch((error) => console.error(error));
  return { stop: () => (running = false), seen };
}

/** Writes rolled-out status on every Deployment and DaemonSet of the list (what the controllers would report). */
async function markRolledOut(objects: readonly KubeObject[], except: string[] = []): Promise<void> {
  for (const object of objects.filter((o) => ROLLOUT_KINDS.includes(o.kind) && !except.includes(o.metadata.name))) {
    const live = await get(object);
    if (!live) continue;
    const generation = live.metadata.generation ?? 1;
    const replicas = live.spec.replicas ?? 1;
    await patchStatus(
      object,
      object.kind === 'Deployment'
        ? { observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas }
        : { observedGeneration: generation, currentNumberScheduled: 1, desiredNumberScheduled: 1, numberMisscheduled: 0, numberReady: 1, updatedNumberScheduled: 1, numberAvailable: 1 },
    );
  }
}

/**
 * The objects as stored, without what every write stamps: resourceVersion and the managers'
 * timestamps. (The API server rewrites a PersistentVolumeClaim on a no-op apply, new
 * resourceVersion and all, although nothing in it differs; kubectl's apply does the same.)
 */
async function storedObjects(objects: readonly KubeObject[]): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const object of objects) {
    const live = await get(object);
    if (!live) continue;
    const { resourceVersion: _rv, managedFields, ...metadata } = live.metadata;
    result[`${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`] = {
      ...live,
      metadata: { ...metadata, managedFields: managedFields.map(({ time: _t, ...f }: any) => f) },
    };
  }
  return result;
}

async function secretData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
  const secret = await get({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } });
  return secret ? Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v as string, 'base64').toString()])) : undefined;
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the preflight disk check mounts tmpfs: run the integration suite as root');
  const bin = requireTool('busybox', 'BUSYBOX_BIN');
  busybox = path.join(work, 'busybox');
  fs.mkdirSync(busybox);
  for (const applet of execFileSync(bin, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) fs.symlinkSync(fs.realpathSync(bin), path.join(busybox, applet));
  for (const dir of Object.values(disks)) fs.mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64M', 'tmpfs', disks.main]);
  fs.writeFileSync(envFile, 'WIREGUARD_PRIVATE_KEY=test-key\nWIREGUARD_ADDRESSES=10.14.0.2/16\nSOULSEEK_USERNAME=me\nSOULSEEK_PASSWORD="two words"\n');
  server = await startControlPlane();
  kube = await Kube.connect(server.kubeconfig);
  env = { KUBECONFIG: server.kubeconfig };
  const helmChart: KubeObject = { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'x' } };
  await installCrds(kube, [...DIST, helmChart]);
}, 300000);

afterAll(async () => {
  for (const dir of Object.values(disks)) spawnSync('umount', [dir]);
  await server?.stop();
});

describe('before anything is set up', () => {
  test('secrets --output yaml prints every Secret without a cluster', async () => {
    const run = await runCli(['secrets', '--output', 'yaml', '--env-file', envFile], { KUBECONFIG: path.join(work, 'no-such-kubeconfig') });
    expect(run.status).toBe(0);
    const secrets = parseAllDocuments(run.stdout).map((d) => d.toJS());
    expect(secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual(
      expect.arrayContaining(['apps/kopia', 'data/nextcloud-db', 'kube-system/potatostack-tls', 'vpn/vpn-credentials']),
    );
    expect(secrets.find((s) => s.metadata.name === 'vpn-credentials').stringData.WIREGUARD_PRIVATE_KEY).toBe('test-key');
  });

  test("the generated Kopia certificate is served by the real Kopia server and verifies against its ca.crt for both names", async () => {
    const kopia = requireTool('kopia', 'KOPIA_BIN');
    const run = await runCli(['secrets', '--output', 'yaml', '--env-file', envFile], { KUBECONFIG: path.join(work, 'no-such-kubeconfig') });
    const tls = parseAllDocuments(run.stdout).map((d) => d.toJS()).find((s) => s.metadata.name === 'kopia-tls').stringData;
    const dir = fs.mkdtempSync(path.join(work, 'kopia-'));
    for (const key of ['tls.crt', 'tls.key']) fs.writeFileSync(path.join(dir, key), tls[key]);
    const kopiaEnv = { ...process.env, KOPIA_PASSWORD: 'repository-password', HOME: dir };
    const config = ['--config-file', path.join(dir, 'kopia.config'), '--cache-directory', path.join(dir, 'cache')];
    execFileSync(kopia, ['repository', 'create', 'filesystem', '--path', path.join(dir, 'repository'), ...config], { env: kopiaEnv, stdio: 'ignore' });
    const port = await freePort();
    const server = require('node:child_process').spawn(
      kopia,
      ['server', 'start', `--address=127.0.0.1:${port}`, `--tls-cert-file=${path.join(dir, 'tls.crt')}`, `--tls-key-file=${path.join(dir, 'tls.key')}`, '--server-username=u', '--server-password=p', ...config],
      { env: kopiaEnv, stdio: 'ignore' },
    );
    /** The TLS handshake with Kopia as a client that trusts only ca.crt: the peer's name check, or the error. */
    const handshake = (servername: string, ca: string) =>
      new Promise<string>((resolve) => {
        const socket = require('node:tls').connect({ host: '127.0.0.1', port, servername, ca }, () => {
          socket.end();
          resolve('verified');
        });
        socket.on('error', (error: Error) => resolve(error.message));
      });
    try {
      let first = '';
      for (let i = 0; i < 100 && !/verified|Hostname/.test(first); i++) {
        first = await handshake('kopia.apps.svc', tls['ca.crt']);
        if (first !== 'verified') await new Promise((r) => setTimeout(r, 300));
      }
      expect(first).toBe('verified');
      expect(await handshake('backup.potato.lan', tls['ca.crt'])).toBe('verified');
      expect(await handshake('gitea.apps.svc', tls['ca.crt'])).toMatch(/Hostname\/IP does not match certificate's altnames/);
      const other = (await runCli(['secrets', '--output', 'yaml', '--env-file', envFile], { KUBECONFIG: path.join(work, 'no-such-kubeconfig') })).stdout;
      const otherCa = parseAllDocuments(other).map((d) => d.toJS()).find((s) => s.metadata.name === 'kopia-tls').stringData['ca.crt'];
      expect(await handshake('kopia.apps.svc', otherCa)).toMatch(/self[- ]signed certificate/);
    } finally {
      server.kill('SIGTERM');
    }
  });

  test('preflight fails each check with its reason', async () => {
    await setNode({ kubeletVersion: 'v1.31.6+k3s1', architecture: 'amd64', memory: '1600Mi', address: '10.0.0.7' });
    await setTraefikChart('traefik-39.0.701+up39.0.7.tgz');
    const kubelet = fakeKubeletForDiskChecks();
    const run = await cli('preflight');
    kubelet.stop();
    expect(run.status).toBe(1);
    const failed = run.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(failed).toEqual([
      expect.stringMatching(/^FAIL k3s version: v1\.31\.6\+k3s1 is older than v1\.32\.2\+k3s1/),
      expect.stringMatching(/^FAIL Traefik chart: the cluster bundles Traefik chart 39\.0\.701\+up39\.0\.7 \(values generation 39-40\), but the manifests carry values for chart 41 .*set ingress\.traefikChart to 39/),
      expect.stringMatching(/^FAIL architecture: node 'potato' is amd64/),
      expect.stringMatching(/^FAIL memory: node 'potato' has 1600 MiB \(MemTotal\), node\.memTotal says 1950 MiB: .*set node\.memTotal to '1600Mi'$/),
      expect.stringMatching(/^FAIL kubelet reservations: node 'potato' holds back 0 MiB of its memory \(MemTotal - allocatable\), the budget expects \d+ MiB: .*setup-host\.sh/),
      expect.stringMatching(/^FAIL LAN range: node 'potato' has address 10\.0\.0\.7, outside network\.lanCidr 192\.168\.178\.0\/24/),
      expect.stringMatching(/^FAIL cache disk: \/mnt\/cachehdd is not a mount point on node 'potato'/),
      ...Array(REQUIRED_SECRETS).fill(expect.stringMatching(/^FAIL Secrets: Secret \S+ is missing .*: run npx potatostack secrets$/)),
    ]);
    expect(run.stdout).toMatch(/^ok {3}main disk: \/mnt\/seconddrive mounted, 0\.1 GiB free of 0\.1 GiB$/m);
    // The pod the CLI submitted passed the real API server's validation, and it was removed.
    expect(kubelet.seen).toHaveLength(1);
    expect(kubelet.seen[0].spec.nodeName).toBe(NODE);
    expect(Object.fromEntries(kubelet.seen[0].spec.containers[0].env.map((e: any) => [e.name, e.value]))).toMatchObject({
      MAIN_PATH: config.storage.mainPath,
      CACHE_PATH: config.storage.cachePath,
      OUT: '/dev/termination-log',
    });
    expect(await get({ apiVersion: 'v1', kind: 'Pod', metadata: kubelet.seen[0].metadata })).toBeUndefined();
  });

  test('preflight names the nodes there are when storage.nodeName is wrong, and reports a disk pod that never finishes', async () => {
    const other = makeProject({ storage: { nodeName: 'lepotato' } });
    const run = await cli('preflight', '--dir', other);
    expect(run.stdout).toMatch(/^FAIL node: no node named 'lepotato' \(storage\.nodeName\); the cluster has: potato$/m);
    expect(run.stdout).toMatch(/^FAIL disks: not checked: the storage node does not exist$/m);
    const stuck = await cli('preflight', '--disk-check-timeout', '3s');
    expect(stuck.stdout).toMatch(/^FAIL disks: the check pod on node 'potato' did not finish within 3 s/m);
  });

  test('preflight and apply refuse a dist/ that the config no longer produces', async () => {
    const stale = makeProject({});
    fs.appendFileSync(path.join(stale, 'dist', '20-apps.yaml'), '# edited by hand\n');
    expect((await cli('preflight', '--dir', stale, '--no-disk-check')).stdout).toMatch(/^FAIL dist\/: differs from what stack\.config\.ts synthesizes \(20-apps\.yaml\): run npm run synth$/m);
    const apply = await cli('apply', '--dir', stale);
    expect(apply.status).toBe(1);
    expect(apply.stderr).toMatch(/dist\/ is not what stack\.config\.ts synthesizes \(20-apps\.yaml\): run `npm run synth` first/);
  });

  test('apply stops at the Secrets check, after the namespaces, before any workload', async () => {
    const run = await cli('apply', '--no-wait');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^applied 5 namespaces: apps, data, vpn, monitoring, management$/m);
    expect(run.stdout).toMatch(/^missing: Secret apps\/kopia is missing/m);
    expect(run.stderr).toMatch(/Secrets are missing: run `npx potatostack secrets`/);
    expect(await get(DIST.find((o) => o.kind === 'Deployment')!)).toBeUndefined();
  });
});

describe('secrets', () => {
  test('--dry-run lists what it would create and creates nothing', async () => {
    const run = await cli('secrets', '--dry-run', '--env-file', envFile);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^would create Secret apps\/kopia \(repository-password, server-password, server-username\)$/m);
    expect(await secretData('apps', 'kopia')).toBeUndefined();
  });

  test('without the external credentials it creates the rest and names what is missing', async () => {
    // An operator's own database password, set before: it must survive and be shared.
    await ok(kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'nextcloud-db', namespace: 'data' }, stringData: { password: 'chosen-by-hand' } } as KubeObject), 'secret');
    const run = await cli('secrets', '--no-input');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^not filled: Secret vpn\/vpn-credentials key WIREGUARD_ADDRESSES \(set WIREGUARD_ADDRESSES\)$/m);
    expect(run.stdout).toMatch(/^missing: Secret vpn\/vpn-credentials is missing/m);
    expect(await secretData('vpn', 'vpn-credentials')).toBeUndefined();
    expect((await secretData('data', 'nextcloud-db'))!.password).toBe('chosen-by-hand');
    expect((await secretData('apps', 'nextcloud-db'))!.password).toBe('chosen-by-hand');
    expect(Object.keys((await secretData('data', 'nextcloud-db'))!).sort()).toEqual(['password', 'root-password']);
  });

  test('with the env file it fills the rest; a second run changes nothing', async () => {
    const first = await cli('secrets', '--env-file', envFile);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^created Secret vpn\/vpn-credentials \(WIREGUARD_ADDRESSES, WIREGUARD_PRIVATE_KEY\)$/m);
    expect((await secretData('vpn', 'vpn-credentials'))!.WIREGUARD_PRIVATE_KEY).toBe('test-key');
    const secrets = (await kube.request('GET', '/api/v1/secrets')).body.items as any[];
    const before = Object.fromEntries(secrets.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s.metadata.resourceVersion]));
    const second = await cli('secrets', '--env-file', envFile);
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/^every Secret and key exists; nothing to do$/m);
    const after = (await kube.request('GET', '/api/v1/secrets')).body.items as any[];
    expect(Object.fromEntries(after.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s.metadata.resourceVersion]))).toEqual(before);
  });

  test('the YAML output is accepted by the API server', async () => {
    const run = await runCli(['secrets', '--output', 'yaml', '--env-file', envFile], env);
    for (const doc of parseAllDocuments(run.stdout)) {
      const secret = doc.toJS() as KubeObject;
      const result = await kube.dryRunCreate({ ...secret, metadata: { ...secret.metadata, name: `${secret.metadata.name}-copy` } });
      expect([secret.metadata.name, result.status]).toEqual([secret.metadata.name, 201]);
    }
  });
});

describe('apply', () => {
  test('applies dist/ in order; a second apply changes nothing', async () => {
    const run = await cli('apply', '--no-wait');
    expect(output(run)).toMatch(/^applied dist\/40-vpn\.yaml: \d+ objects$/m);
    expect(run.status).toBe(0);
    for (const object of DIST) expect([object.kind, object.metadata.name, Boolean(await get(object))]).toEqual([object.kind, object.metadata.name, true]);
    const managers = (await get(DIST.find((o) => o.kind === 'Deployment')!))!.metadata.managedFields.map((f: any) => f.manager);
    expect(managers).toContain('potatostack');
    const before = await storedObjects(DIST);
    const again = await cli('apply', '--no-wait');
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^nothing to prune$/m);
    expect(await storedObjects(DIST)).toEqual(before);
  });

  test('waits for the rollouts, showing progress, and fails with the reasons when time is up', async () => {
    const timedOut = await cli('apply', '--timeout', '4s');
    expect(timedOut.status).toBe(1);
    expect(timedOut.stdout).toMatch(/^ {2}Deployment apps\/nextcloud: 0\/1 ready$/m);
    expect(timedOut.stdout).toMatch(/^not rolled out: Deployment apps\/nextcloud: no pods$/m);

    await markRolledOut(DIST, ['gitea']);
    let released = false;
    const run = await runCli(['apply', '--timeout', '2m'], env, (soFar) => {
      if (!released && /Deployment apps\/gitea: 0\/1 ready/.test(soFar)) {
        released = true;
        markRolledOut(DIST.filter((o) => o.metadata.name === 'gitea')).catch((e) => console.error(e));
      }
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^ {2}Deployment apps\/gitea: 0\/1 ready\n(.*\n)* {2}Deployment apps\/gitea: 1\/1 ready, rolled out$/m);
    expect(run.stdout).toMatch(/^every workload rolled out$/m);
  });
});

describe('preflight and status on the set-up cluster', () => {
  test('preflight passes on a board that matches the config', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64M', 'tmpfs', disks.cache]);
    await setNode({ kubeletVersion: 'v1.33.4+k3s1', architecture: 'arm64', memory: '1990Mi', allocatable: `${1990 - RESERVED_MI}Mi`, address: '192.168.178.20' });
    await setTraefikChart('traefik-41.4.2+up41.4.0.tgz');
    const kubelet = fakeKubeletForDiskChecks();
    const run = await cli('preflight');
    kubelet.stop();
    expect(run.stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(run.stdout).toMatch(new RegExp(`^ok {3}Secrets: all ${REQUIRED_SECRETS} present with their keys$`, 'm'));
    expect(run.stdout).toMatch(/^ok {3}kubelet reservations: \d+ MiB held back from MemTotal, as dist\/host\/k3s\/kubelet\.yaml says$/m);
    expect(run.stdout).toMatch(/^ok {3}cache disk: \/mnt\/cachehdd mounted/m);
    expect(run.status).toBe(0);
  });

  async function healthyCluster(): Promise<void> {
    const traefik: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'traefik', namespace: 'kube-system' },
      spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } }, template: { metadata: { labels: { 'app.kubernetes.io/name': 'traefik' } }, spec: { containers: [{ name: 'traefik', image: 'rancher/mirrored-library-traefik:3.3.6' }] } } },
    };
    if (!(await get(traefik))) await ok(kube.create(traefik), 'traefik');
    await markRolledOut([...DIST, traefik]);
    for (const claim of DIST.filter((o) => o.kind === 'PersistentVolumeClaim')) await patchStatus(claim, { phase: 'Bound' });
    const cronJob = DIST.find((o) => o.kind === 'CronJob' && o.metadata.name === 'kopia-snapshot')!;
    await patchStatus(cronJob, { lastSuccessfulTime: new Date(Date.now() - 3600000).toISOString().replace(/\.\d+Z$/, 'Z') });
  }

  test('status fails while claims are pending, then passes on a healthy stack, as text and JSON', async () => {
    const pending = await cli('status');
    expect(pending.status).toBe(1);
    expect(pending.stdout).toMatch(/^ {7}problem: claim nextcloud-data is Pending$/m);
    await healthyCluster();
    const run = await cli('status');
    expect(run.stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(run.stdout).toMatch(/^ok {3}backup: last successful backup 1\.0 h ago$/m);
    expect(run.stdout).toMatch(/^ {5}apps\/nextcloud: 1\/1 ready, restarts 0, claims nextcloud-data Bound$/m);
    expect(run.status).toBe(0);
    const json = await cli('status', '--output', 'json');
    const status = JSON.parse(json.stdout);
    expect(status.healthy).toBe(true);
    expect(status.components.map((c: any) => c.component)).toEqual(expect.arrayContaining(['nextcloud', 'traefik', 'vpn', 'kopia', 'gitea']));
  });

  test('status shows an OOM kill, and fails on a stale backup and a missing Secret', async () => {
    const nextcloud = DIST.find((o) => o.kind === 'Deployment' && o.metadata.name === 'nextcloud')!;
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nextcloud-7d9f-abcde', namespace: 'apps', labels: nextcloud.spec.selector.matchLabels }, spec: { containers: [{ name: 'nextcloud', image: 'x' }] } };
    await ok(kube.create(pod), 'pod');
    await patchStatus(pod, {
      phase: 'Running',
      containerStatuses: [
        { name: 'nextcloud', ready: true, restartCount: 4, image: 'x', imageID: '', state: { running: { startedAt: '2026-11-30T10:00:00Z' } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: '2026-11-30T09:59:58Z' } } },
      ],
    });
    const cronJob = DIST.find((o) => o.kind === 'CronJob' && o.metadata.name === 'kopia-snapshot')!;
    await patchStatus(cronJob, { lastSuccessfulTime: new Date(Date.now() - 3 * 86400000).toISOString().replace(/\.\d+Z$/, 'Z') });
    await ok(kube.request('DELETE', '/api/v1/namespaces/apps/secrets/nextcloud-admin'), 'delete secret');
    const run = await cli('status');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^ {5}apps\/nextcloud: 1\/1 ready, restarts 4,/m);
    expect(run.stdout).toMatch(/^ {7}!! OOMKilled: nextcloud exit 137 at 2026-11-30T09:59:58Z/m);
    expect(run.stdout).toMatch(/^FAIL backup: last successful backup 7\d\.\d h ago, older than 26 h$/m);
    expect(run.stdout).toMatch(/^FAIL nextcloud\n {5}apps\/nextcloud: .*\n(.*\n)* {7}problem: Secret apps\/nextcloud-admin is missing/m);
    // put things back for the tests below
    expect((await cli('secrets', '--env-file', envFile)).status).toBe(0);
  });
});

describe('changes after the first apply', () => {
  test('a disabled component is pruned; its claim and volume stay unless --force', async () => {
    // Portainer (and its cluster-admin binding) is in the full profile, on a board with the memory for it.
    const full = makeProject({ profile: 'full', node: { memTotal: '4Gi' } });
    const withoutPortainer = makeProject({ profile: 'full', node: { memTotal: '4Gi' }, components: { portainer: { enabled: false } } });
    const fullObjects = loadManifests(path.join(full, 'dist')).map((m) => m.object);
    expect((await runCli(['secrets', '--dir', full, '--env-file', envFile], env)).status).toBe(0);
    expect((await cli('apply', '--no-wait', '--dir', full)).status).toBe(0);
    const portainer = (kind: string, namespace?: string) =>
      fullObjects.find((o) => o.kind === kind && o.metadata.name === (kind.startsWith('Persistent') ? 'portainer-data' : 'portainer') && o.metadata.namespace === namespace)!;
    expect(await get(portainer('ClusterRoleBinding'))).toBeDefined();
    const run = await cli('apply', '--no-wait', '--dir', withoutPortainer);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^pruned Deployment management\/portainer$/m);
    expect(run.stdout).toMatch(/^pruned ClusterRoleBinding portainer$/m);
    expect(run.stdout).toMatch(/^kept PersistentVolumeClaim management\/portainer-data: no longer synthesized, but it holds data/m);
    expect(await get(portainer('Deployment', 'management'))).toBeUndefined();
    expect(await get(portainer('ClusterRoleBinding'))).toBeUndefined();
    expect(await get(portainer('PersistentVolumeClaim', 'management'))).toBeDefined();
    expect(await get(portainer('PersistentVolume'))).toBeDefined();
    // Nothing else was touched.
    expect(await get(fullObjects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'dozzle')!)).toBeDefined();

    const forced = await cli('apply', '--no-wait', '--force', '--dir', withoutPortainer);
    expect(forced.stdout).toMatch(/^pruned PersistentVolumeClaim management\/portainer-data$/m);
    const claim = await get(portainer('PersistentVolumeClaim', 'management'));
    // Deleted, or held by its protection finalizer (no controller here removes it).
    expect(claim === undefined || claim.metadata.deletionTimestamp !== undefined).toBe(true);
  });

  test('a changed disk path fails on the volumes with the way to move, and prunes nothing', async () => {
    const moved = makeProject({ storage: { mainPath: '/mnt/otherdisk' } });
    const run = await cli('apply', '--no-wait', '--dir', moved);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^failed: PersistentVolume nextcloud-data \(dist\/00-platform\.yaml\): .*spec\.persistentvolumesource: Forbidden: spec\.persistentvolumesource is immutable after creation/m);
    expect(run.stdout).toMatch(/^ {2}a PersistentVolume cannot change its path or node after creation: see docs\/operations\.md, "Changing disks or the node name"$/m);
    expect(run.stderr).toMatch(/object\(s\) were not applied; nothing was pruned/);
    const renamed = makeProject({ storage: { nodeName: 'lepotato' } });
    const node = await cli('apply', '--no-wait', '--dir', renamed);
    expect(node.stdout).toMatch(/^failed: PersistentVolume nextcloud-data \(dist\/00-platform\.yaml\): .*nodeAffinity: Invalid value: .*"lepotato".*: field is immutable/m);
    expect(node.stdout).toMatch(/^ {2}a PersistentVolume cannot change its path or node after creation/m);
  });
});

/**
 * Runs the CLI in a pseudo-terminal (util-linux `script`), answering each question once its
 * text appears; returns everything the terminal showed, without colours.
 */
function inTerminal(args: readonly string[], answers: ReadonlyArray<[RegExp, string]>): Promise<{ status: number | null; screen: string }> {
  const script = requireTool('script');
  const command = `stty cols 400; exec ${process.execPath} ${path.join(ROOT, 'cli', 'bin.js')} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = require('node:child_process').spawn(script, ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env, TERM: 'xterm' } });
    let screen = '';
    let next = 0;
    let answeredAt = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.stdout.on('data', (chunk: Buffer) => {
      // eslint-disable-next-line no-control-regex
      screen += chunk.toString().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      if (next < answers.length && answers[next][0].test(screen.slice(answeredAt))) {
        answeredAt = screen.length;
        child.stdin.write(`${answers[next++][1]}\r`);
      }
    });
    child.on('error', reject);
    child.on('close', (status: number | null) => {
      clearTimeout(timer);
      resolve({ status, screen });
    });
  });
}

test('secrets asks in a terminal for what the config needs and the cluster lacks, hiding secret answers', async () => {
  const openvpn = makeProject({ vpn: { type: 'openvpn' } });
  const { status, screen } = await inTerminal(['secrets', '--dir', openvpn], [
    [/\(OPENVPN_PASSWORD; empty to skip\)/, 'hunter2'],
    [/\(OPENVPN_USER; empty to skip\)/, 'vpn-user'],
  ]);
  expect([status, screen.slice(-400)]).toEqual([0, expect.stringContaining('added keys OPENVPN_PASSWORD, OPENVPN_USER to Secret vpn/vpn-credentials')]);
  expect(screen).not.toContain('hunter2');
  expect(await secretData('vpn', 'vpn-credentials')).toMatchObject({ OPENVPN_USER: 'vpn-user', OPENVPN_PASSWORD: 'hunter2', WIREGUARD_PRIVATE_KEY: 'test-key' });
});

describe('init', () => {
  test('in a terminal it asks for every required setting, offering what it detected, and refuses invalid answers', async () => {
    await setNode({ kubeletVersion: 'v1.33.4+k3s1', architecture: 'arm64', memory: '1990Mi', address: '10.1.2.3' });
    const dir = fs.mkdtempSync(path.join(work, 'init-'));
    const { status, screen } = await inTerminal(['init', '--dir', dir], [
      [/\[domain\] \(potato\.lan\)/, 'home.example.org'],
      [/\[storage\.nodeName\] \(potato\)/, ''],
      [/\[node\.memTotal\] \(1990Mi\)/, ''],
      [/\[network\.lanCidr\] \(10\.1\.2\.0\/24\)/, ''],
      [/\[network\.wireguardClientCidr\] \(10\.8\.0\.0\/24\)/, ''],
      [/\[storage\.mainPath\] \(\/mnt\/seconddrive\)/, '\x15/var/lib/x'],
      [/storage\.mainPath: '\/var\/lib\/x' is not allowed/, '\x15/mnt/main'],
      [/\[storage\.cachePath\]/, ''],
      [/\[vpn\.provider\] \(surfshark\)/, '\x15mullvad'],
    ]);
    expect([status, screen.slice(-300)]).toEqual([0, expect.stringContaining('wrote ')]);
    const resolved = resolveConfig(require(path.join(dir, 'stack.config.ts')).overrides);
    expect([resolved.domain, resolved.storage.nodeName, resolved.network.lanCidr, resolved.storage.mainPath, resolved.vpn.provider]).toEqual([
      'home.example.org',
      'potato',
      '10.1.2.0/24',
      '/mnt/main',
      'mullvad',
    ]);
  });

  test('without a terminal, missing settings are named with their flags', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'init-'));
    const run = await cli('init', '--dir', dir, '--no-input', '--no-detect');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/these settings have no value and would silently keep their defaults: domain \(--domain\), storage\.nodeName \(--node-name\), node\.memTotal \(--mem-total\), network\.lanCidr \(--lan-cidr\)/);
    expect(fs.existsSync(path.join(dir, 'stack.config.ts'))).toBe(false);
  });

  test("detects the node's name and LAN, writes a config that loads, and refuses to overwrite it without --force", async () => {
    await setNode({ kubeletVersion: 'v1.33.4+k3s1', architecture: 'arm64', memory: '1990Mi', address: '192.168.178.20' });
    const dir = fs.mkdtempSync(path.join(work, 'init-'));
    const flags = ['--domain', 'home.example.org', '--wireguard-cidr', '10.6.0.0/24', '--main-path', '/mnt/main', '--cache-path', '/mnt/cache', '--vpn-provider', 'mullvad'];
    const run = await cli('init', '--dir', dir, '--no-input', ...flags);
    expect(output(run)).toMatch(/^storage\.nodeName: "potato" \(detected\)$/m);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^network\.lanCidr: "192\.168\.178\.0\/24" \(detected\)$/m);
    expect(run.stdout).toMatch(/^node\.memTotal: "1990Mi" \(detected\)$/m);
    expect(run.stdout).toMatch(/^ingress\.traefikChart: 41 \(detected\)$/m);
    const written = require(path.join(dir, 'stack.config.ts')).overrides;
    const resolved = resolveConfig(written);
    expect([resolved.domain, resolved.storage.nodeName, resolved.network.lanCidr, resolved.vpn.provider]).toEqual(['home.example.org', 'potato', '192.168.178.0/24', 'mullvad']);
    const again = await cli('init', '--dir', dir, '--no-input', ...flags);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already has overrides; pass --force/);
    const forced = await cli('init', '--dir', dir, '--no-input', '--force', ...flags, '--domain', 'new.example.org');
    expect(forced.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'stack.config.ts.bak'), 'utf8')).toContain("domain: 'home.example.org'");
  });
});
