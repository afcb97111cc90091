import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { GITEA_HEALTH_PATH } from '../../lib/apps/gitea';
import { containerMemoryLimitBytes, distContainer, literalEnv } from './support/dist';
import { MeteredProcess, recordFootprint } from './support/footprint';
import { freePort, httpRequest, runBounded, settle } from './support/load';
import { PostgresServer, deployedPostgresBinDir } from './support/postgres';
import { runAllProbes, runProbe, waitForProbe } from './support/probes';
import { requireTool } from './support/tools';

/**
 * Gitea at the catalog's version (built by the setup script with the rootless image's tags)
 * against a real PostgreSQL of the deployed major, both with what dist/ carries: PostgreSQL's
 * args, initdb args, database and user; Gitea's GITEA__ env turned into app.ini by
 * environment-to-ini, as the image's entrypoint does. Changed for this machine only: paths
 * (the image's /var/lib/gitea and /tmp become temporary folders), the database host and the
 * listen ports (free loopback ports; HTTP_ADDR and SSH_LISTEN_HOST pinned to 127.0.0.1), and the
 * Secrets' values (the test's own). app.ini starts empty instead of from the image's template,
 * which only fills in paths under /var/lib/gitea and defaults Gitea has anyway.
 */

const config = resolveConfig();
const gitea = distContainer('Deployment', 'apps', 'gitea', 'gitea');
const postgres = distContainer('Deployment', 'data', 'gitea-postgres', 'postgres');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-gitea-'));
fs.chmodSync(work, 0o755);
/** The rootless image's user (the pod's runAsUser); Gitea refuses to run as root. */
const GIT_UID = 1000;
/** Rounds of light use the load repeats (see the load below). */
const LOAD_ROUNDS = 3;
let pg: PostgresServer | undefined;
let server: MeteredProcess | undefined;

afterAll(async () => {
  await server?.stop();
  await pg?.remove();
  fs.rmSync(work, { recursive: true, force: true });
});

function giteaEnv(pgPort: number, httpPort: number, sshPort: number, secrets: Record<string, string>): Record<string, string> {
  const { env, references } = literalEnv(gitea);
  expect(references.sort()).toEqual(['GITEA__database__PASSWD', 'GITEA__security__INTERNAL_TOKEN', 'GITEA__security__SECRET_KEY']);
  const data = path.join(work, 'data');
  const dataMount = gitea.volumeMounts.find((m: any) => m.name === 'data').mountPath;
  const local: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) local[name] = value.startsWith(`${dataMount}/`) ? data + value.slice(dataMount.length) : value;
  return {
    ...local,
    ...secrets,
    // The image's own env (Dockerfile.rootless), under this test's folders.
    GITEA_WORK_DIR: data,
    GITEA_CUSTOM: path.join(data, 'custom'),
    GITEA_TEMP: path.join(work, 'tmp', 'gitea'),
    TMPDIR: path.join(work, 'tmp', 'gitea'),
    HOME: path.join(data, 'git'),
    USER: 'git',
    PATH: '/usr/bin:/bin',
    GITEA__database__HOST: `127.0.0.1:${pgPort}`,
    GITEA__server__HTTP_PORT: String(httpPort),
    GITEA__server__HTTP_ADDR: '127.0.0.1',
    GITEA__server__SSH_LISTEN_PORT: String(sshPort),
    GITEA__server__SSH_LISTEN_HOST: '127.0.0.1',
  };
}

test('Gitea starts on PostgreSQL with the generated env, answers its probes, survives a database restart; memory idle and under API + git load', async () => {
  const giteaBin = requireTool('gitea', 'GITEA_BIN');
  const envToIni = requireTool('environment-to-ini', 'ENVIRONMENT_TO_INI_BIN');
  const version = execFileSync(giteaBin, ['--version'], { encoding: 'utf8' }).trim();

  // PostgreSQL of the deployed major with the container's args and initdb args from dist/.
  const pgEnv = literalEnv(postgres).env;
  pg = await PostgresServer.create(deployedPostgresBinDir(config.postgres.majorVersion), pgEnv.POSTGRES_INITDB_ARGS.split(/\s+/), postgres.args, 'gitea-postgres');
  await pg.start();
  const dbPassword = randomBytes(12).toString('hex');
  pg.createOwner(pgEnv.POSTGRES_USER, pgEnv.POSTGRES_DB, dbPassword);

  const httpPort = await freePort();
  const sshPort = await freePort();
  const generate = (what: string) => execFileSync(giteaBin, ['generate', 'secret', what], { encoding: 'utf8' }).trim();
  const env = giteaEnv(pg.port, httpPort, sshPort, {
    GITEA__database__PASSWD: dbPassword,
    GITEA__security__SECRET_KEY: generate('SECRET_KEY'),
    GITEA__security__INTERNAL_TOKEN: generate('INTERNAL_TOKEN'),
  });
  // The database Gitea is told to use is the one the PostgreSQL container creates.
  expect([env.GITEA__database__NAME, env.GITEA__database__USER]).toEqual([pgEnv.POSTGRES_DB, pgEnv.POSTGRES_USER]);
  for (const dir of [path.dirname(env.GITEA_APP_INI), env.GITEA_WORK_DIR, env.GITEA_TEMP, env.HOME]) fs.mkdirSync(dir, { recursive: true });
  execFileSync('chown', ['-R', `${GIT_UID}:${GIT_UID}`, work]);
  const asGit = { uid: GIT_UID, gid: GIT_UID };
  fs.writeFileSync(env.GITEA_APP_INI, '');
  fs.chownSync(env.GITEA_APP_INI, GIT_UID, GIT_UID);
  execFileSync(envToIni, ['--config', env.GITEA_APP_INI], { env, ...asGit });
  const ini = fs.readFileSync(env.GITEA_APP_INI, 'utf8');
  expect(ini).toMatch(/\[database\][^[]*DB_TYPE\s*=\s*postgres/);

  // As in its pod: under the container's memory limit, its code read from disk into its own
  // cgroup. Not git's: the test's git client maps the same binary, so its pages are charged to
  // whichever reads them first.
  server = new MeteredProcess(giteaBin, ['-c', env.GITEA_APP_INI, 'web'], { name: 'gitea', env, cwd: env.GITEA_WORK_DIR, ...asGit, limitBytes: containerMemoryLimitBytes(gitea), coldStart: true });
  const target = { portMap: { 3000: httpPort, 2222: sshPort } };
  expect(gitea.ports.map((p: any) => p.containerPort).sort()).toEqual([2222, 3000]);
  await waitForProbe(gitea, 'startupProbe', target, 300000).catch((e) => {
    throw new Error(`${e.message}\n${server!.log.slice(-3000)}`);
  });
  const probes = await runAllProbes(gitea, target);
  expect(probes.map((p) => [p.kind, p.handler, p.ok])).toEqual(probes.map((p) => [p.kind, p.handler, true]));
  // GOMEMLIMIT from dist/ is in Gitea's environment.
  expect(fs.readFileSync(`/proc/${server.child.pid}/environ`, 'utf8').split('\0')).toContain(`GOMEMLIMIT=${env.GOMEMLIMIT}`);

  // The first admin, as the README has operators create it.
  const admin = { user: 'potato', password: randomBytes(12).toString('hex') };
  const cli = spawnSync(giteaBin, ['-c', env.GITEA_APP_INI, 'admin', 'user', 'create', '--admin', '--username', admin.user, '--password', admin.password, '--email', 'potato@example.invalid', '--must-change-password=false'], {
    encoding: 'utf8',
    env,
    cwd: env.GITEA_WORK_DIR,
    ...asGit,
  });
  expect([cli.status, cli.stderr]).toEqual([0, expect.any(String)]);

  await settle(20000);
  const idle = server.sample();

  // Load: three rounds of light use, each 60 API calls at 4 at once, a repository created through
  // the API, cloned, 50 files pushed and cloned again over HTTP on loopback (Gitea's own git
  // processes share its cgroup). Go's heap peaks depend on when collections fall, so one round's
  // peak varies by 10-15 % from run to run; the sampler keeps the largest of the three.
  const base = `http://127.0.0.1:${httpPort}`;
  const auth = { Authorization: `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}` };
  const git = (args: string[], cwd?: string) =>
    execFileSync('git', ['-c', 'user.name=Potato', '-c', 'user.email=potato@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', stdio: 'pipe' });
  server.startPeak();
  for (let round = 1; round <= LOAD_ROUNDS; round++) {
    const repo = `potato-load-${round}`;
    const created = await httpRequest(`${base}/api/v1/user/repos`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: repo, auto_init: true, default_branch: 'main' }),
    });
    expect(created.status).toBe(201);
    const calls = ['/api/v1/version', '/api/v1/user', '/api/v1/user/repos', '/api/v1/repos/search?q=potato', `/api/v1/repos/${admin.user}/${repo}/commits`, '/api/v1/settings/api'];
    const answers = await runBounded(60, 4, (i) => httpRequest(`${base}${calls[i % calls.length]}`, { headers: auth }));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const gitUrl = `http://${admin.user}:${admin.password}@127.0.0.1:${httpPort}/${admin.user}/${repo}.git`;
    const clone = path.join(os.tmpdir(), `potato-gitea-clone-${process.pid}`);
    try {
      git(['clone', gitUrl, clone]);
      for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(clone, `file-${i}.txt`), randomBytes(16 * 1024).toString('base64'));
      git(['add', '.'], clone);
      git(['commit', '-m', 'load test'], clone);
      git(['push', 'origin', 'main'], clone);
      fs.rmSync(clone, { recursive: true, force: true });
      git(['clone', gitUrl, clone]);
      expect(fs.readdirSync(clone).filter((f) => f.startsWith('file-'))).toHaveLength(50);
    } finally {
      fs.rmSync(clone, { recursive: true, force: true });
    }
  }
  const load = server.stopPeak();
  const setup = server.describeSetup();

  // Database away: readiness (which pings PostgreSQL) fails, liveness (Gitea alone) holds, so the
  // kubelet takes Gitea out of the Service without restarting it. This is what the old liveness
  // on /api/healthz would have failed, restarting Gitea into CrashLoopBackOff.
  await pg.stop();
  const readinessDown = await runProbe(gitea, 'readinessProbe', target);
  expect([readinessDown.handler, readinessDown.ok]).toEqual([`GET ${GITEA_HEALTH_PATH} on 3000`, false]);
  for (let i = 0; i < 3; i++) {
    expect((await runProbe(gitea, 'livenessProbe', target)).ok).toBe(true);
    await settle(2000);
  }
  await pg.start();
  await waitForProbe(gitea, 'readinessProbe', target, 60000);
  expect((await runProbe(gitea, 'livenessProbe', target)).ok).toBe(true);

  recordFootprint({
    component: 'gitea',
    container: 'gitea',
    program: `${version} (built from the Go module at the catalog's version with the rootless image's tags; bindata without the frontend bundle)`,
    configuration: `GITEA__ env and GOMEMLIMIT (${env.GOMEMLIMIT}) from dist/ through environment-to-ini; PostgreSQL ${pg.sql('SHOW server_version')} with the container's args from dist/; paths, ports and Secrets local to the test`,
    conditions: {
      idle: `amd64; empty instance with one admin user, 20 s after start; ${setup}`,
      load: `amd64; ${LOAD_ROUNDS} rounds of: a repository created over the API, 60 API calls at concurrency 4, clone + push of 50 files (1 MiB) + clone again over HTTP on loopback (the git processes Gitea runs are in its cgroup; git's code pages are shared with the test's git client); ${setup}`,
    },
    method: server.method,
    limitBytes: server.limitBytes,
    idle,
    load,
  });
});
