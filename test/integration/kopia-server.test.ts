import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { containerMemoryLimitBytes, distConfigMapData, distContainer, distObject, literalEnv, podSpec } from './support/dist';
import { MemorySample, MeteredProcess, codeFiles, recordFootprint } from './support/footprint';
import { freePort, httpRequest, runBounded, settle } from './support/load';
import { runAllProbes, runProbe, waitForProbe } from './support/probes';
import { requireTool } from './support/tools';

/**
 * The Kopia server as the Deployment starts it: the container's command runs the start script
 * from the kopia-scripts ConfigMap in dist/ (which creates a filesystem repository in the empty
 * folder, then execs `kopia server start` with the generated TLS, login and metrics flags) with
 * the container's env from dist/. Changed for this machine only: the container's mount paths
 * become temporary folders, the listen addresses become loopback ports, the Secrets' values are
 * the test's own and the TLS certificate is a throwaway self-signed one. While it starts, every
 * command line of its process tree is read: no password may be on one (any pod sharing the
 * node's PID namespace could read it); Kopia reads them from its environment.
 */

const WORKLOAD = distObject('Deployment', 'apps', 'kopia');
const container = distContainer('Deployment', 'apps', 'kopia', 'kopia');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-kopia-server-'));
const password = randomBytes(12).toString('hex');
const login = { user: 'potato-admin', password: randomBytes(12).toString('hex') };
let server: MeteredProcess | undefined;
/**
 * Go forces a garbage collection at least every 2 minutes. What the start left behind (two
 * 64 MiB scrypt key derivations, see below) stays resident until the first one frees it and the
 * second one lowers the runtime's target for returning memory to the system. The steady idle
 * figure is read after two, waiting at most this long.
 */
const FORCED_GC_WAIT_MS = 270000;
const mibText = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
const describeSample = (s: MemorySample) => `working set ${mibText(s.workingSet)} MiB, anon ${mibText(s.anon)} MiB, RSS ${mibText(s.rss)} MiB, mapped files ${mibText(s.mappedFile ?? 0)} MiB`;
const largest = (a: MemorySample, b: MemorySample): MemorySample => ({
  workingSet: Math.max(a.workingSet, b.workingSet),
  anon: Math.max(a.anon, b.anon),
  rss: Math.max(a.rss, b.rss),
  mappedFile: Math.max(a.mappedFile ?? 0, b.mappedFile ?? 0),
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The ConfigMap key behind the container's command (`/bin/sh /scripts/start.sh`), found through its volume mount. */
function startScript(): string {
  const [shell, script] = container.command;
  expect(shell).toBe('/bin/sh');
  const mount = container.volumeMounts.find((m: any) => script.startsWith(`${m.mountPath}/`));
  const volume = podSpec(WORKLOAD).volumes.find((v: any) => v.name === mount.name);
  return distConfigMapData('apps', volume.configMap.name, script.slice(mount.mountPath.length + 1));
}

/** The pid and all its descendants. */
function processTree(pid: number): number[] {
  const result = [pid];
  for (let i = 0; i < result.length; i++) {
    try {
      for (const task of fs.readdirSync(`/proc/${result[i]}/task`)) {
        const children = fs.readFileSync(`/proc/${result[i]}/task/${task}/children`, 'utf8').trim();
        if (children) result.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // exited meanwhile
    }
  }
  return result;
}

/** Adds the command line of every process of the tree to `into`. */
function sampleCommandLines(pid: number, into: Set<string>): void {
  for (const p of processTree(pid)) {
    try {
      const line = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (line) into.add(line);
    } catch {
      // exited meanwhile
    }
  }
}

test('the command-line sampler sees a secret that is on a command line (the check can fail)', async () => {
  const secret = randomBytes(8).toString('hex');
  const child = spawn('sh', ['-c', 'sleep 3', 'sh', `--server-password=${secret}`]);
  await new Promise((r) => setTimeout(r, 200));
  const lines = new Set<string>();
  sampleCommandLines(child.pid!, lines);
  child.kill();
  expect([...lines].some((l) => l.includes(secret))).toBe(true);
});

test('the start script refuses to run without the UI password instead of serving without a login', () => {
  const kopia = requireTool('kopia', 'KOPIA_BIN');
  const repository = fs.mkdtempSync(path.join(work, 'no-password-'));
  const script = path.join(work, 'start-no-password.sh');
  fs.writeFileSync(script, startScript());
  const run = spawnSync('/bin/sh', [script], {
    encoding: 'utf8',
    env: { PATH: `${path.dirname(kopia)}:/usr/bin:/bin`, HOME: work, REPOSITORY: repository, KOPIA_PASSWORD: password, KOPIA_SERVER_USERNAME: login.user, KOPIA_SERVER_PASSWORD: '' },
  });
  expect(run.status).not.toBe(0);
  expect(`${run.stdout}${run.stderr}`).toContain('the kopia Secret has no server-password');
  expect(fs.readdirSync(repository)).toEqual([]);
});

/** Replaces `from` with `to` and fails when the script no longer contains `from` (the rewrite would silently do nothing). */
function rewrite(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === 'string' ? text.includes(from) : from.test(text);
  if (!found) throw new Error(`the start script from dist/ no longer contains ${from}: update this test's rewrite`);
  return typeof from === 'string' ? text.split(from).join(to) : text.replace(from, to);
}

test('kopia server starts with the generated script, flags and env; probes answer; memory idle and under API/UI load', async () => {
  const kopia = requireTool('kopia', 'KOPIA_BIN');
  const version = execFileSync(kopia, ['--version'], { encoding: 'utf8' }).trim().split(/\s+/)[0];
  const port = await freePort();
  const metricsPort = await freePort();

  // Each container mount becomes a folder here.
  const folders = Object.fromEntries(container.volumeMounts.map((m: any) => [m.mountPath, path.join(work, m.name)])) as Record<string, string>;
  for (const dir of Object.values(folders)) fs.mkdirSync(dir, { recursive: true });
  const tlsDir = folders['/app/tls'];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kopia.apps.svc',
    '-addext', 'subjectAltName=DNS:kopia.apps.svc,IP:127.0.0.1', '-keyout', path.join(tlsDir, 'tls.key'), '-out', path.join(tlsDir, 'tls.crt'),
  ], { stdio: 'ignore' });

  let script = startScript();
  const httpsPort = container.ports.find((p: any) => p.name === 'https').containerPort;
  const metricsContainerPort = container.ports.find((p: any) => p.name === 'metrics').containerPort;
  script = rewrite(script, `--address=0.0.0.0:${httpsPort}`, `--address=127.0.0.1:${port}`);
  script = rewrite(script, `--metrics-listen-addr=:${metricsContainerPort}`, `--metrics-listen-addr=127.0.0.1:${metricsPort}`);
  // One pass over every mount path, so a rewritten path is never rewritten again.
  const mountPattern = new RegExp(`(${Object.keys(folders).sort((a, b) => b.length - a.length).join('|')})(?=[/\\s"]|$)`, 'gm');
  script = script.replace(mountPattern, (mountPath) => folders[mountPath]);
  for (const used of ['/repository', '/app/cache', '/app/tls']) expect(script).not.toMatch(new RegExp(`[= ]${used}\\b`));
  const scriptFile = path.join(work, 'start.sh');
  fs.writeFileSync(scriptFile, script);

  const { env, references } = literalEnv(container);
  expect(references.sort()).toEqual(['KOPIA_PASSWORD', 'KOPIA_SERVER_PASSWORD', 'KOPIA_SERVER_USERNAME']);
  const localEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const mount = Object.keys(folders).find((m) => value === m || value.startsWith(`${m}/`));
    localEnv[name] = mount ? folders[mount] + value.slice(mount.length) : value;
  }
  // As in its pod: under the container's memory limit, the kopia binary read from disk into its own cgroup.
  server = new MeteredProcess('/bin/sh', [scriptFile], {
    name: 'kopia-server',
    limitBytes: containerMemoryLimitBytes(container),
    coldStart: codeFiles(kopia),
    env: {
      ...localEnv,
      PATH: `${path.dirname(kopia)}:/usr/bin:/bin`,
      HOME: work,
      KOPIA_PASSWORD: password,
      KOPIA_SERVER_USERNAME: login.user,
      KOPIA_SERVER_PASSWORD: login.password,
    },
  });
  server.startPeak();
  const target = { portMap: { [httpsPort]: port, [metricsContainerPort]: metricsPort } };
  // Every command line of the server's process tree while it creates the repository and starts,
  // read as any process in the node's PID namespace could.
  const commandLines = new Set<string>();
  const sampler = setInterval(() => sampleCommandLines(server!.child.pid!, commandLines), 10);
  await waitForProbe(container, 'startupProbe', target, 180000)
    .catch((e) => {
      throw new Error(`${e.message}\n${server!.log}`);
    })
    .finally(() => clearInterval(sampler));
  sampleCommandLines(server.child.pid!, commandLines);
  const lines = [...commandLines];
  expect(lines.some((l) => l.includes('kopia repository create'))).toBe(true);
  expect(lines.some((l) => l.startsWith('kopia server start'))).toBe(true);
  for (const secret of [password, login.password]) expect(lines.filter((l) => l.includes(secret))).toEqual([]);
  expect(lines.filter((l) => /password/i.test(l))).toEqual([]);
  // The start: `repository create` (three times) and the server's opening of the repository (once)
  // derive the format key with the repository's scrypt-65536-8-1, 64 MiB of memory each time.
  const startPeak = server.stopPeak();
  server.startPeak();
  const probes = await runAllProbes(container, target);
  expect(probes.map((p) => [p.kind, p.ok])).toEqual(probes.map((p) => [p.kind, true]));
  expect(server.log).toMatch(/no repository in .* yet: creating one/);
  expect(fs.existsSync(path.join(folders['/repository'], 'kopia.repository.f'))).toBe(true);

  // The server really speaks TLS with the given certificate and refuses a wrong login.
  const base = `https://127.0.0.1:${port}`;
  const basic = { Authorization: `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}` };
  expect((await httpRequest(`${base}/`, { headers: { Authorization: `Basic ${Buffer.from(`${login.user}:wrong`).toString('base64')}` } })).status).toBe(401);
  // The UI page as a browser gets it: a session cookie and the CSRF token the API calls must echo.
  const ui = await httpRequest(`${base}/`, { headers: basic });
  expect(ui.status).toBe(200);
  const cookies = (ui.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
  const cookie = cookies.join('; ');
  const token = /<meta name="kopia-csrf-token" content="([^"]+)"/.exec(ui.body)?.[1];
  expect(cookies).toContainEqual(expect.stringMatching(/^Kopia-Session-Cookie=/));
  expect(token).toEqual(expect.any(String));
  const api = (p: string, method = 'GET', body?: unknown) =>
    httpRequest(`${base}${p}`, {
      method,
      headers: { ...basic, Cookie: cookie, 'X-Kopia-Csrf-Token': token!, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: 60000,
    });
  const status = JSON.parse((await api('/api/v1/repo/status')).body);
  expect(status.connected).toBe(true);
  // Prometheus' scrape target answers on the metrics port.
  expect((await httpRequest(`http://127.0.0.1:${metricsPort}/metrics`)).body).toMatch(/kopia_/);

  await settle(15000);
  // The refused login above made the server hash that password with scrypt too (its check of the
  // repository's own users, done for any login the server login does not match).
  const loginPeak = server.stopPeak();
  const early = server.sample();

  // Steady idle: after Go's forced periodic collections have freed that garbage and returned the pages.
  const gcCount = async () => Number(/^go_gc_duration_seconds_count (\d+)$/m.exec((await httpRequest(`http://127.0.0.1:${metricsPort}/metrics`)).body)?.[1]);
  const collections = await gcCount();
  const waitStart = Date.now();
  const gcDeadline = waitStart + FORCED_GC_WAIT_MS;
  while ((await gcCount()) < collections + 2 && Date.now() < gcDeadline) await settle(2000);
  expect(await gcCount()).toBeGreaterThanOrEqual(collections + 2);
  // The runtime returns the freed pages in the background: read once anon holds still (within 0.5 MiB over 5 s), 60 s at most.
  let idle = server.sample();
  for (const settledBy = Date.now() + 60000; Date.now() < settledBy; ) {
    await settle(5000);
    const next = server.sample();
    const still = Math.abs(next.anon - idle.anon) < 0.5 * 1024 ** 2;
    idle = next;
    if (still) break;
  }
  const waitedS = Math.round((Date.now() - waitStart) / 1000);
  console.log(`kopia processes idle: ${server.processes().map((p) => `${p.pid} ${p.name}: anon ${(p.anon / 1024 ** 2).toFixed(1)} MiB, RSS ${(p.rss / 1024 ** 2).toFixed(1)} MiB`).join('; ')}`);
  console.log(`kopia start peak: ${describeSample(startPeak)}; after a refused login and the UI: peak ${describeSample(loginPeak)}, 15 s later ${describeSample(early)}; steady idle: ${describeSample(idle)}`);

  // Load: one snapshot of 64 files (8 MiB) started from the API, then 40 UI/API reads at 4 at once.
  const data = path.join(work, 'data');
  fs.mkdirSync(data);
  for (let i = 0; i < 64; i++) fs.writeFileSync(path.join(data, `file-${i}.bin`), randomBytes(128 * 1024));
  server.startPeak();
  const created = await api('/api/v1/sources', 'POST', { path: data, createSnapshot: true, policy: {} });
  expect(created.status).toBe(200);
  const deadline = Date.now() + 120000;
  let source: any;
  while (Date.now() < deadline) {
    source = JSON.parse((await api('/api/v1/sources')).body).sources.find((s: any) => s.source.path === data);
    if (source?.lastSnapshot) break;
    await settle(500);
  }
  expect(source?.lastSnapshot?.stats?.fileCount).toBe(64);
  const query = `userName=${encodeURIComponent(source.source.userName)}&host=${encodeURIComponent(source.source.host)}&path=${encodeURIComponent(data)}`;
  const reads = ['/api/v1/repo/status', '/api/v1/sources', `/api/v1/snapshots?${query}`, '/api/v1/policies', '/api/v1/tasks', '/'];
  const answers = await runBounded(40, 4, (i) => (reads[i % reads.length] === '/' ? httpRequest(`${base}/`, { headers: basic }) : api(reads[i % reads.length])));
  const load = server.stopPeak();
  const setup = server.describeSetup();
  expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
  expect(JSON.parse((await api(`/api/v1/snapshots?${query}`)).body).snapshots).toHaveLength(1);

  recordFootprint({
    component: 'kopia',
    container: 'kopia',
    program: `kopia ${version} (built from the Go module at the catalog's version)`,
    configuration: 'start.sh from the kopia-scripts ConfigMap and the container env from dist/ (GOMEMLIMIT included); mount paths moved to temporary folders, listen addresses to loopback ports, a throwaway TLS certificate and test Secrets',
    conditions: {
      idle:
        `amd64; new empty filesystem repository, after two of Go's forced periodic garbage collections (${waitedS + 15} s after the UI page, a refused login and one status call). ` +
        `Before it, 15 s after those, the same server held ${describeSample(early)}: the garbage of two scrypt key derivations (64 MiB each, the repository's format key at open and the refused login's password hash) stays until the heap reaches twice what was live at the last collection or the periodic collections run; ${setup}`,
      load:
        `amd64; the largest of: the first start (repository create, then the server opening it: ${describeSample(startPeak)}), a refused login and the UI page (${describeSample(loginPeak)}), and one snapshot of 64 files (8 MiB) started through the API followed by 40 UI/API reads (status, sources, snapshot list, policies, tasks, UI page) at concurrency 4 (${describeSample(load)}); ${setup}`,
    },
    method: server.method,
    limitBytes: server.limitBytes,
    idle,
    load: largest(largest(startPeak, loginPeak), load),
  });

  // Negative: once the server is gone, the liveness probe fails as the kubelet would see it.
  await server.stop();
  expect((await runProbe(container, 'livenessProbe', target)).ok).toBe(false);
});
