import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { enabledVolumes, resolveConfig } from '../../lib/config';
import { hostPathOf } from '../../lib/constructs/storage';
import { INITDB_ARGS } from '../../lib/apps/postgres';
import { BACKUP_IDENTITIES, CACHE_SUBPATHS, DUMP_UID, dumpsFolder } from '../../lib/apps/backup/jobs';
import { RestoreRequest, SNAPSHOT_SOURCE, restoreManifests, restoreSteps } from '../../lib/apps/backup/restore';
import { distConfigMapData, distObject, podSpec } from './support/dist';
import { FootprintMeasurement, describeMeasurement, recordFootprint } from './support/footprint';
import { PodFolders, PodRun, busyboxAppletDir, execInContainer, exited, runPod, startContainer } from './support/pod';
import { freePort } from './support/load';
import { deployedPostgresBinDir, systemUser as serverIdentity } from './support/postgres';
import { MARIADB_DIRS, findBinary, postgresBinDir, stop, succeeds, waitUntil } from './support/servers';
import { requireTool } from './support/tools';

/**
 * The restore drill: real MariaDB, PostgreSQL and Kopia run the backup and restore steps exactly
 * as dist/ (and the restore generator) define them: scripts from the kopia-scripts ConfigMap,
 * each container's command, environment, user, capabilities and read-only mounts (see
 * support/pod.ts). Only the mounts become folders of the test, Secrets become test values and
 * the databases' Service addresses become the loopback servers.
 *
 * 1. seed Nextcloud- and Gitea-like files and databases;
 * 2. run the nightly snapshot pod (maintenance holder with a stand-in `occ`, both dumps, the
 *    snapshot), then the maintenance, verification and copy jobs;
 * 3. change and wipe the data; restore both apps from the main repository with the generated
 *    restore Job; compare file checksums, owners, modes and database row checksums;
 * 4. lose the main disk (repository, database servers and all): restore from the copy on the
 *    cache disk onto fresh servers, and compare again.
 * Memory of every step is measured on this data (printed; reports/footprint/ with WRITE_REPORTS=1).
 */

const config = resolveConfig();
const PASSWORDS = { repository: 'drill-repository-password', nextcloud: 'drill-nextcloud-db', gitea: 'drill-gitea-db' };
const SECRETS = { 'kopia/repository-password': PASSWORDS.repository, 'nextcloud-db/password': PASSWORDS.nextcloud, 'gitea-db/password': PASSWORDS.gitea };
const ROWS = 200_000;
const FILES = 1500;

let KOPIA: string;
let work: string;
let disk: string;
let cacheDisk: string;
let scriptsDir: string;
let standinDir: string;
let busyboxDir: string;
const running: { child: ChildProcess; signal: NodeJS.Signals }[] = [];

/** Folder of a layout volume in the test's disks. */
function volumeDir(name: string): string {
  const spec = enabledVolumes(config).find((v) => v.name === name);
  if (!spec) throw new Error(`no volume ${name}`);
  return hostPathOf(spec, { mainPath: disk, cachePath: cacheDisk });
}

/** What dist/host/prepare-storage.sh does, on the test's disks: every layout folder with its owner and mode. */
function prepareFolders(): void {
  for (const v of enabledVolumes(config)) {
    const dir = hostPathOf(v, { mainPath: disk, cachePath: cacheDisk });
    fs.mkdirSync(dir, { recursive: true });
    if (v.readOnly || v.folder === '') continue;
    fs.chownSync(dir, v.uid, v.gid);
    fs.chmodSync(dir, parseInt(v.mode, 8));
  }
}

function fresh(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(work, `${prefix}-`));
  fs.chmodSync(dir, 0o777);
  return dir;
}

// ---------------------------------------------------------------------------------------
// Databases: the data chart's servers, as their images' entrypoints set them up.

interface Mariadb {
  child: ChildProcess;
  port: number;
  socket: string;
  sql: (statement: string) => string;
}

async function startMariadb(dataDir: string): Promise<Mariadb> {
  const identity = serverIdentity('mysql');
  const run = fresh('mariadb-run');
  fs.mkdirSync(dataDir, { recursive: true });
  if (identity.uid !== undefined) execFileSync('chown', ['-R', `${identity.uid}:${identity.gid}`, dataDir, run]);
  const cnf = path.join(run, 'potatostack.cnf');
  fs.writeFileSync(cnf, distConfigMapData('data', 'mariadb-config', 'potatostack.cnf'), { mode: 0o644 });
  const port = await freePort();
  const socket = path.join(run, 'mysqld.sock');
  const placement = [`--datadir=${dataDir}`, `--socket=${socket}`, `--pid-file=${run}/mysqld.pid`, `--tmpdir=${run}`];
  execFileSync(findBinary('mariadb-install-db', MARIADB_DIRS), [`--defaults-file=${cnf}`, placement[0], '--auth-root-authentication-method=normal', '--skip-test-db'], { ...identity, stdio: 'pipe' });
  const child = spawn(findBinary('mariadbd', MARIADB_DIRS), [`--defaults-file=${cnf}`, ...placement, `--port=${port}`, '--bind-address=127.0.0.1', `--log-error=${run}/error.log`], { ...identity, stdio: 'ignore' });
  running.push({ child, signal: 'SIGTERM' });
  const admin = findBinary('mariadb-admin', MARIADB_DIRS);
  await waitUntil('mariadbd', () => succeeds(admin, ['--no-defaults', `--socket=${socket}`, '-uroot', 'ping']), child, () => fs.readFileSync(`${run}/error.log`, 'utf8'));
  const client = findBinary('mariadb', MARIADB_DIRS);
  const sql = (statement: string) => execFileSync(client, ['--no-defaults', '--default-character-set=utf8mb4', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', statement], { encoding: 'utf8', maxBuffer: 64 * 1024 ** 2 }).trim();
  // What the mariadb image's entrypoint does with MARIADB_DATABASE / MARIADB_USER / MARIADB_PASSWORD.
  sql(
    "CREATE DATABASE nextcloud CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci; CREATE USER 'nextcloud'@'%' IDENTIFIED BY '" +
      PASSWORDS.nextcloud +
      "'; GRANT ALL ON nextcloud.* TO 'nextcloud'@'%';",
  );
  return { child, port, socket, sql };
}

function seedMariadb(db: Mariadb): void {
  db.sql(
    'SET SESSION max_recursive_iterations = 1000000; USE nextcloud;' +
      ' CREATE TABLE oc_filecache (fileid BIGINT AUTO_INCREMENT PRIMARY KEY, path VARCHAR(4000), name VARCHAR(250), size BIGINT, mtime BIGINT, KEY name_idx (name));' +
      ` INSERT INTO oc_filecache (path, name, size, mtime) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${ROWS})` +
      " SELECT CONCAT('files/dir', n % 100, '/file', n, '.jpg'), CONCAT('file', n, '.jpg'), n * 1024, 1700000000 + n FROM s;" +
      ' CREATE TABLE oc_users (uid VARCHAR(64) PRIMARY KEY, displayname VARCHAR(255));' +
      " INSERT INTO oc_users WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 50) SELECT CONCAT('user', n), CONCAT('Kartoffel 🥔 ', n, ' – Grüße') FROM s;" +
      ' CREATE TABLE oc_blobs (id INT PRIMARY KEY, data LONGBLOB);' +
      ' INSERT INTO oc_blobs WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 200) SELECT n, RANDOM_BYTES(1024) FROM s;',
  );
}

/** Row counts and content checksums of the Nextcloud tables. */
function mariadbFingerprint(db: Mariadb): Record<string, string> {
  const tables = db.sql("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'nextcloud' ORDER BY TABLE_NAME").split('\n').filter(Boolean);
  const result: Record<string, string> = {};
  for (const t of tables) {
    const count = db.sql(`SELECT COUNT(*) FROM nextcloud.${t}`);
    const checksum = db.sql(`CHECKSUM TABLE nextcloud.${t} EXTENDED`).split('\t')[1];
    result[t] = `${count} rows, checksum ${checksum}`;
  }
  result.charset = db.sql("SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, '/', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'nextcloud'");
  return result;
}

interface Postgres {
  child: ChildProcess;
  port: number;
  bin: string;
  version: string;
  sql: (statement: string, database?: string) => string;
}

/** The deployed major's programs when the npm package has its client tools too, else Debian's. */
function postgresTools(): string {
  try {
    const deployed = deployedPostgresBinDir(config.postgres.majorVersion);
    if (['pg_dump', 'pg_restore', 'psql'].every((p) => fs.existsSync(path.join(deployed, p)))) return deployed;
  } catch {
    // fall through to Debian's
  }
  return postgresBinDir();
}

async function startPostgres(dataDir: string): Promise<Postgres> {
  const bin = postgresTools();
  const identity = serverIdentity('postgres');
  const run = fresh('postgres-run');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The claim's folder belongs to the server's user (UID 70 in the image), PGDATA below it too.
  if (identity.uid !== undefined) execFileSync('chown', ['-R', `${identity.uid}:${identity.gid}`, path.dirname(dataDir), run]);
  // Local sessions (the test's seeding) are trusted; TCP needs the password, as in the image.
  execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '--username=postgres', '--auth-local=trust', '--auth-host=scram-sha-256', ...INITDB_ARGS], { ...identity, stdio: 'pipe' });
  const port = await freePort();
  const log = path.join(run, 'server.log');
  const out = fs.openSync(log, 'a');
  const child = spawn(path.join(bin, 'postgres'), ['-D', dataDir, '-c', 'listen_addresses=127.0.0.1', '-c', `port=${port}`, '-c', `unix_socket_directories=${run}`], { ...identity, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  running.push({ child, signal: 'SIGINT' });
  await waitUntil('postgres', () => succeeds(path.join(bin, 'pg_isready'), ['-h', run, '-p', String(port)]), child, () => fs.readFileSync(log, 'utf8'));
  const sql = (statement: string, database = 'postgres') =>
    execFileSync(path.join(bin, 'psql'), ['-X', '-v', 'ON_ERROR_STOP=1', '-h', run, '-p', String(port), '-U', 'postgres', '-d', database, '-At', '-c', statement], { encoding: 'utf8', maxBuffer: 64 * 1024 ** 2 }).trim();
  // The postgres image makes POSTGRES_USER the superuser that owns POSTGRES_DB.
  sql(`CREATE ROLE gitea LOGIN SUPERUSER PASSWORD '${PASSWORDS.gitea}'`);
  sql('CREATE DATABASE gitea OWNER gitea ENCODING UTF8 TEMPLATE template0');
  return { child, port, bin, version: sql('SHOW server_version'), sql };
}

function seedPostgres(db: Postgres): void {
  db.sql(
    'CREATE TABLE repository (id bigserial PRIMARY KEY, owner text NOT NULL, name text NOT NULL, description text);' +
      " INSERT INTO repository (owner, name, description) SELECT 'alice', 'repo' || g, 'Ünïcode 🥔 ' || g FROM generate_series(1, 500) g;" +
      ' CREATE TABLE action (id bigserial PRIMARY KEY, user_id bigint, repo_id bigint REFERENCES repository (id), content text, created_unix bigint);' +
      ` INSERT INTO action (user_id, repo_id, content, created_unix) SELECT g % 10, 1 + g % 500, repeat('commit message ', 8) || g, 1700000000 + g FROM generate_series(1, ${ROWS}) g;` +
      ' CREATE INDEX action_repo ON action (repo_id, created_unix);' +
      " CREATE TABLE attachment (id serial PRIMARY KEY, data bytea); INSERT INTO attachment (data) SELECT decode(repeat(md5(g::text), 32), 'hex') FROM generate_series(1, 200) g;",
    'gitea',
  );
}

function postgresFingerprint(db: Postgres): Record<string, string> {
  const tables = db.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename", 'gitea').split('\n').filter(Boolean);
  const result: Record<string, string> = {};
  for (const t of tables) result[t] = db.sql(`SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) FROM ${t} t`, 'gitea');
  // Sequences continue where they were: a restored table does not hand out used IDs again.
  result.sequences = db.sql("SELECT string_agg(sequencename || '=' || last_value, ',' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'public'", 'gitea');
  result.indexes = db.sql("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'", 'gitea');
  return result;
}

// ---------------------------------------------------------------------------------------
// Files: folders shaped like Nextcloud's and Gitea's, owned by the apps' UIDs.

function writeTree(root: string, uid: number, files: number, seed: string): void {
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `dir${i % 25}`, `sub${i % 7}`);
    fs.mkdirSync(dir, { recursive: true });
    const size = 1024 + (createHash('sha256').update(`${seed}${i}`).digest()[0] << 8);
    fs.writeFileSync(path.join(dir, `file-${i}.bin`), randomBytes(size), { mode: i % 3 === 0 ? 0o600 : 0o640 });
  }
  execFileSync('chown', ['-R', `${uid}:${uid}`, root]);
}

function seedFiles(): void {
  const nextcloud = volumeDir('nextcloud-data');
  fs.mkdirSync(path.join(nextcloud, 'config'), { recursive: true });
  fs.writeFileSync(path.join(nextcloud, 'config', 'config.php'), "<?php\n$CONFIG = array (\n  'maintenance' => false,\n);\n", { mode: 0o640 });
  writeTree(path.join(nextcloud, 'data', 'alice', 'files'), 33, FILES, 'nc');
  // Nextcloud's thumbnail cache: regenerated on demand, ignored by the snapshot.
  fs.mkdirSync(path.join(nextcloud, 'data', 'appdata_oc123', 'preview'), { recursive: true });
  fs.writeFileSync(path.join(nextcloud, 'data', 'appdata_oc123', 'preview', 'thumb.png'), randomBytes(4096));
  execFileSync('chown', ['-R', '33:33', nextcloud]);
  const gitea = volumeDir('gitea-data');
  writeTree(path.join(gitea, 'git', 'repositories', 'alice', 'app.git', 'objects'), 1000, FILES / 3, 'gt');
  fs.mkdirSync(path.join(gitea, 'custom', 'conf'), { recursive: true });
  fs.writeFileSync(path.join(gitea, 'custom', 'conf', 'app.ini'), '[server]\nDOMAIN = git.potato.lan\n');
  execFileSync('chown', ['-R', '1000:1000', gitea]);
}

/** Every entry below a folder: type, owner, mode, size and content hash. */
function treeFingerprint(root: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      const rel = path.relative(root, full);
      if (skip(rel)) continue;
      const st = fs.lstatSync(full);
      const head = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
      if (st.isDirectory()) {
        result[`${rel}/`] = head;
        walk(full);
      } else {
        result[rel] = `${head} ${st.size} ${createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`;
      }
    }
  };
  const st = fs.statSync(root);
  result['./'] = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
  walk(root);
  return result;
}

// ---------------------------------------------------------------------------------------
// Running the pods of dist/ and of the restore generator.

const snapshotCronJob = () => distObject('CronJob', 'apps', 'kopia-snapshot');
const toolCronJob = (name: string) => distObject('CronJob', 'apps', name);

/** Where each image's programs are found here: its shell, and the PATH its script relies on. */
function imagePath(container: any): Pick<PodFolders, 'path' | 'shell' | 'coldStart'> {
  const image: string = container.image;
  if (image.includes('/kopia:')) return { path: [path.dirname(KOPIA)], coldStart: [KOPIA] };
  if (image.includes('/mariadb:')) return { path: MARIADB_DIRS, coldStart: ['mariadb-dump', 'mariadb'].map((p) => findBinary(p, MARIADB_DIRS)) };
  if (image.includes('/postgres:')) return { path: [postgresTools(), busyboxDir], shell: [path.join(busyboxDir, 'sh')], coldStart: ['pg_dump', 'pg_restore'].map((p) => path.join(postgresTools(), p)) };
  if (image.includes('/nextcloud:')) return { path: [standinDir] };
  throw new Error(`no local stand-in for image ${image}`);
}

interface DatabasePorts {
  mariadb?: number;
  postgres?: number;
}

/**
 * The test's folders for a backup or restore pod. The databases' Service names are the loopback
 * servers here; every other value comes from the spec.
 */
function folders(container: any, volumes: Record<string, string>, ports: DatabasePorts, extraEnv: Record<string, string> = {}, extraPaths: Record<string, string> = {}): PodFolders {
  const database: Record<string, string> = {};
  const host = (container.env ?? []).find((e: any) => e.name === 'DB_HOST')?.value as string | undefined;
  if (host?.startsWith('mariadb.')) Object.assign(database, { DB_HOST: '127.0.0.1', DB_PORT: String(ports.mariadb) });
  if (host?.startsWith('gitea-postgres.')) Object.assign(database, { DB_HOST: '127.0.0.1', DB_PORT: String(ports.postgres) });
  return { volumes, secrets: SECRETS, ...imagePath(container), extraEnv: { ...database, ...extraEnv }, extraPaths };
}

/** Folders of the volumes every kopia client pod declares (scripts, config, logs, tmp) plus the given ones. */
function podVolumes(spec: any, given: Record<string, string>): Record<string, string> {
  const volumes: Record<string, string> = {};
  for (const v of spec.volumes ?? []) {
    if (given[v.name]) volumes[v.name] = given[v.name];
    else if (v.configMap?.name === 'kopia-scripts') volumes[v.name] = scriptsDir;
    else if (v.emptyDir) volumes[v.name] = fresh(`emptydir-${v.name}`);
    else throw new Error(`the test gives no folder for volume ${v.name}`);
  }
  return volumes;
}

/** Calls of the stand-in `php occ`, in order, with the time of each (ms since the epoch). */
function standinCalls(log: string): { at: number; call: string }[] {
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => ({ at: Number(line.slice(0, line.indexOf(' '))), call: line.slice(line.indexOf(' ') + 1) }));
}

/** A log file the stand-in (running as www-data) can write. */
function standinLog(): string {
  return path.join(fresh('occ'), 'calls.log');
}

function standinEnv(log: string, extra: Record<string, string> = {}): Record<string, string> {
  return { STANDIN_LOG: log, ...extra };
}

function snapshotPodVolumes(state: string): Record<string, string> {
  return podVolumes(podSpec(snapshotCronJob()), {
    repository: volumeDir('kopia-repository'),
    cache: volumeDir('kopia-cache'),
    sources: disk,
    dumps: volumeDir('database-dumps'),
    nextcloud: volumeDir('nextcloud-data'),
    state,
  });
}

const measured: Record<string, { run: PodRun['containers'][number]; conditions: string }> = {};

/** Keeps, per container, the drill's run with the largest working set: a step that runs several times is sized by its largest run. */
function keepMeasurements(run: PodRun, conditions: string): void {
  const keep = (c: PodRun['containers'][number], text: string) => {
    const kept = measured[c.name];
    if (!kept || c.peak.workingSet > kept.run.peak.workingSet) measured[c.name] = { run: c, conditions: text };
  };
  for (const c of run.containers) if (!c.sidecar) keep(c, conditions);
  const holder = run.containers.find((c) => c.sidecar);
  if (holder) keep(holder, `${conditions}; php is a stand-in here (the shell and its waits measured, not Nextcloud's occ)`);
}

function expectSucceeded(run: PodRun): void {
  if (!run.succeeded) {
    const failed = run.containers.find((c) => c.name === run.failed);
    throw new Error(`pod failed at ${run.failed}:\n${failed?.log ?? '(no log)'}`);
  }
}

function kopiaAs(configDir: string, args: string[]): string {
  const env = { PATH: `${path.dirname(KOPIA)}:/usr/bin:/bin`, HOME: work, KOPIA_PASSWORD: PASSWORDS.repository, KOPIA_CONFIG_PATH: path.join(configDir, 'repository.config'), KOPIA_CHECK_FOR_UPDATES: 'false', KOPIA_LOG_DIR: path.join(configDir, 'logs') };
  const result = spawnSync(KOPIA, args, { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`kopia ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** A client of our own to inspect a repository (read-only). */
function inspect(repository: string): (args: string[]) => string {
  const configDir = fresh('inspect');
  kopiaAs(configDir, ['repository', 'connect', 'filesystem', `--path=${repository}`, '--readonly', `--cache-directory=${path.join(configDir, 'cache')}`, '--override-hostname=drill', '--override-username=inspector']);
  return (args) => kopiaAs(configDir, args);
}

function restorePod(request: RestoreRequest): { spec: any; container: (name: string) => any } {
  const objects = restoreManifests(config, request);
  const job = objects.find((o) => o.kind === 'Job');
  const spec = job.spec.template.spec;
  return { spec, container: (name) => [...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === name) };
}

async function restore(request: RestoreRequest, repository: string, ports: DatabasePorts): Promise<PodRun> {
  const { spec } = restorePod(request);
  // The steps the drill runs are the generator's, in its order.
  expect([...(spec.initContainers ?? []), ...spec.containers].map((c: any) => c.name)).toEqual(restoreSteps(config, request).map((s) => s.container));
  const volumes = podVolumes(spec, { repository, disk });
  // The snapshot source names the snapshot pod's /data, which is the main disk here.
  const run = await runPod(spec, (c) => folders(c, volumes, ports, {}, { '/data': disk }));
  expectSucceeded(run);
  return run;
}

// ---------------------------------------------------------------------------------------

let mariadb: Mariadb;
let postgres: Postgres;
const before: { nextcloud?: Record<string, string>; gitea?: Record<string, string>; mariadb?: Record<string, string>; postgres?: Record<string, string> } = {};
/** The preview cache is not backed up, by design. */
const skipPreviews = (rel: string) => /^data\/appdata_[^/]+\/preview(\/|$)/.test(rel);

beforeAll(async () => {
  KOPIA = requireTool('kopia', 'KOPIA_BIN');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-drill-'));
  fs.chmodSync(work, 0o755);
  disk = path.join(work, 'seconddrive');
  cacheDisk = path.join(work, 'cachehdd');
  scriptsDir = path.join(work, 'scripts');
  standinDir = path.join(work, 'standin');
  busyboxDir = busyboxAppletDir(path.join(work, 'busybox'));
  fs.mkdirSync(scriptsDir);
  for (const [name, text] of Object.entries(distObject('ConfigMap', 'apps', 'kopia-scripts').data as Record<string, string>)) fs.writeFileSync(path.join(scriptsDir, name), text, { mode: 0o555 });
  // Stand-in for Nextcloud's `php occ` (no Nextcloud code here): records each call and how many
  // MariaDB dumps existed at that moment; STANDIN_* variables make it fail or report a mode.
  fs.mkdirSync(standinDir);
  fs.writeFileSync(
    path.join(standinDir, 'php'),
    [
      '#!/bin/sh',
      '[ "$1" = /var/www/html/occ ] || { echo "stand-in php: unexpected $*" >&2; exit 2; }',
      'shift',
      'echo "$(date +%s%3N) $*" >> "$STANDIN_LOG"',
      'case "$*" in',
      '  "config:system:get maintenance") [ -n "${STANDIN_ALREADY_ON:-}" ] && echo true && exit 0; exit 1 ;;',
      '  "maintenance:mode --on") [ -z "${STANDIN_FAIL_ON:-}" ] || exit 1; echo "Maintenance mode enabled" ;;',
      '  "maintenance:mode --off") [ -z "${STANDIN_FAIL_OFF:-}" ] || exit 1; echo "Maintenance mode disabled" ;;',
      '  *) echo "stand-in php: unknown occ command $*" >&2; exit 2 ;;',
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  fs.chmodSync(standinDir, 0o755);
  prepareFolders();
  fs.mkdirSync(path.join(volumeDir('kopia-cache'), CACHE_SUBPATHS.snapshot), { recursive: true });
  mariadb = await startMariadb(path.join(volumeDir('mariadb-data')));
  postgres = await startPostgres(path.join(volumeDir('postgres-data'), 'pgdata'));
  seedMariadb(mariadb);
  seedPostgres(postgres);
  seedFiles();
  // The kopia server creates the repository on its first start (its start script), as kopia@potatostack.
  const serverConfig = fresh('server');
  kopiaAs(serverConfig, ['repository', 'create', 'filesystem', `--path=${volumeDir('kopia-repository')}`, `--cache-directory=${path.join(volumeDir('kopia-cache'))}`, '--override-hostname=potatostack', '--override-username=kopia']);
}, 600_000);

afterAll(async () => {
  for (const { child, signal } of running) await stop(child, signal);
  if (process.env.KEEP_TMP) console.log(`drill files kept in ${work}`);
  else if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the nightly backup, as dist/ runs it', () => {
  test('the snapshot pod: Nextcloud in maintenance mode only around the MariaDB dump, both dumps, then the snapshot', async () => {
    const spec = podSpec(snapshotCronJob());
    expect([...spec.initContainers, ...spec.containers].map((c: any) => c.name)).toEqual(['nextcloud-maintenance', 'dump-mariadb', 'dump-postgres', 'kopia-snapshot']);
    const volumes = snapshotPodVolumes(fresh('state'));
    const log = standinLog();
    const run = await runPod(spec, (c) => folders(c, volumes, { mariadb: mariadb.port, postgres: postgres.port }, c.name === 'nextcloud-maintenance' ? standinEnv(log) : {}));
    expectSucceeded(run);
    keepMeasurements(run, `${ROWS.toLocaleString('en')} rows per database, ${FILES + FILES / 3} files (~${Math.round(Number(execFileSync('du', ['-sm', disk], { encoding: 'utf8' }).split('\t')[0]))} MB on the disk)`);
    const calls = standinCalls(log);
    // The mode is checked, switched on, and off again once: nothing else.
    expect(calls.map((c) => c.call)).toEqual(['config:system:get maintenance', 'maintenance:mode --on', 'maintenance:mode --off']);
    const step = (name: string) => run.containers.find((c) => c.name === name)!;
    const dump = fs.readdirSync(volumeDir('database-dumps')).find((f) => f.endsWith('.sql'))!;
    const dumpWritten = fs.statSync(path.join(volumeDir('database-dumps'), dump)).mtimeMs;
    // On before the dump started; off after it was written and before its step ended (it waits
    // for the release); the snapshot only afterwards.
    expect(calls[1].at).toBeLessThanOrEqual(step('dump-mariadb').startedAt);
    expect(calls[2].at).toBeGreaterThanOrEqual(Math.floor(dumpWritten));
    expect(calls[2].at).toBeLessThanOrEqual(step('dump-mariadb').endedAt);
    expect(step('kopia-snapshot').startedAt).toBeGreaterThanOrEqual(calls[2].at);
    expect(step('nextcloud-maintenance').code).toBe(0);
  });

  test('the dumps are complete, named by time, owned by the dumps UID, and nothing partial is left', () => {
    const files = fs.readdirSync(volumeDir('database-dumps'));
    expect(files.filter((f) => f.startsWith('.'))).toEqual([]);
    const sql = files.filter((f) => /^nextcloud-mariadb-[0-9]{8}T[0-9]{6}Z\.sql$/.test(f));
    const custom = files.filter((f) => /^gitea-postgres-[0-9]{8}T[0-9]{6}Z\.dump$/.test(f));
    expect([sql.length, custom.length]).toEqual([1, 1]);
    const text = fs.readFileSync(path.join(volumeDir('database-dumps'), sql[0]), 'utf8');
    expect(text).toMatch(/-- Dump completed on/);
    expect(text).toContain('DROP DATABASE IF EXISTS `nextcloud`');
    expect(fs.readFileSync(path.join(volumeDir('database-dumps'), custom[0])).subarray(0, 5).toString()).toBe('PGDMP');
    for (const f of [...sql, ...custom]) expect(fs.statSync(path.join(volumeDir('database-dumps'), f)).uid).toBe(DUMP_UID);
  });

  test('the snapshot holds the apps and the dumps, not the live database folders, Kopia itself or the preview cache', () => {
    const kopia = inspect(volumeDir('kopia-repository'));
    const source = SNAPSHOT_SOURCE.replace(':/data', `:${disk}`);
    const snapshots = JSON.parse(kopia(['snapshot', 'list', source, '--json'])) as { rootEntry: { obj: string } }[];
    expect(snapshots).toHaveLength(1);
    const entries = kopia(['ls', '-r', snapshots[0].rootEntry.obj]).split('\n').filter(Boolean).map((l) => l.slice(l.indexOf('/') + 1));
    expect(entries).toEqual(expect.arrayContaining(['nextcloud/config/config.php', 'gitea/custom/conf/app.ini', `${dumpsFolder()}/`]));
    expect(entries.some((e) => e.startsWith(`${dumpsFolder()}/nextcloud-mariadb-`))).toBe(true);
    // The ignored folders are there (empty), nothing inside them.
    expect(entries.filter((e) => /^(databases|kopia)\/./.test(e) || /\/preview\/./.test(e))).toEqual([]);
    const policy = kopia(['policy', 'show', source]);
    expect(policy).toMatch(/Daily snapshots:\s+30\s+\(defined for this target\)/);
    expect(policy).toMatch(/Compressor:\s+zstd-fastest\s+\(defined for this target\)/);
  });

  test('maintenance runs under its own pinned identity, which then owns it', async () => {
    const spec = podSpec(toolCronJob('kopia-maintenance'));
    const volumes = podVolumes(spec, { repository: volumeDir('kopia-repository'), cache: volumeDir('kopia-cache') });
    const result = await runPod(spec, (c) => folders(c, volumes, {}));
    expectSucceeded(result);
    keepMeasurements(result, 'full maintenance of the repository after the first snapshot');
    const owner = `${BACKUP_IDENTITIES.maintenance.username}@${BACKUP_IDENTITIES.maintenance.hostname}`;
    expect(inspect(volumeDir('kopia-repository'))(['maintenance', 'info'])).toContain(`Owner: ${owner}`);
    expect(result.containers[0].log).toMatch(/Finished full maintenance|full maintenance/i);
  });

  test('verification reads the snapshots back and passes', async () => {
    const spec = podSpec(toolCronJob('kopia-verify'));
    const volumes = podVolumes(spec, { repository: volumeDir('kopia-repository'), cache: volumeDir('kopia-cache') });
    const result = await runPod(spec, (c) => folders(c, volumes, {}));
    expectSucceeded(result);
    keepMeasurements(result, `snapshot verify of every snapshot, ${config.kopia.verify.filesPercent} % of the files read back`);
    // Every object's structure, and some files read back in full.
    expect(result.containers[0].log).toMatch(/Finished processing [0-9]+ objects .*\. Read [1-9][0-9]* files/);
  });

  test('the copy on the cache disk is a repository of its own that opens with the same password', async () => {
    const spec = podSpec(toolCronJob('kopia-copy'));
    const volumes = podVolumes(spec, { repository: volumeDir('kopia-repository'), cache: volumeDir('kopia-cache'), copy: volumeDir('kopia-copy') });
    const result = await runPod(spec, (c) => folders(c, volumes, {}));
    expectSucceeded(result);
    keepMeasurements(result, 'first sync-to of the whole repository to an empty folder');
    expect(fs.existsSync(path.join(volumeDir('kopia-copy'), 'kopia.repository.f'))).toBe(true);
    const main = inspect(volumeDir('kopia-repository'))(['snapshot', 'list', '--all', '--manifest-id']);
    expect(inspect(volumeDir('kopia-copy'))(['snapshot', 'list', '--all', '--manifest-id'])).toBe(main);
  });

  test('a second night: dumps rotate to kopia.dumps.keep, the copy follows', async () => {
    for (let night = 0; night < config.kopia.dumps.keep; night++) {
      await new Promise((r) => setTimeout(r, 1100)); // dump names carry the second
      const volumes = snapshotPodVolumes(fresh('state'));
      const log = standinLog();
      const result = await runPod(podSpec(snapshotCronJob()), (c) => folders(c, volumes, { mariadb: mariadb.port, postgres: postgres.port }, c.name === 'nextcloud-maintenance' ? standinEnv(log) : {}));
      expectSucceeded(result);
    }
    const files = fs.readdirSync(volumeDir('database-dumps'));
    expect(files.filter((f) => f.endsWith('.sql'))).toHaveLength(config.kopia.dumps.keep);
    expect(files.filter((f) => f.endsWith('.dump'))).toHaveLength(config.kopia.dumps.keep);
    const spec = podSpec(toolCronJob('kopia-copy'));
    expectSucceeded(await runPod(spec, (c) => folders(c, podVolumes(spec, { repository: volumeDir('kopia-repository'), cache: volumeDir('kopia-cache'), copy: volumeDir('kopia-copy') }), {})));
  });
});

describe('the maintenance holder and the MariaDB dump when something goes wrong (stand-in occ)', () => {
  const holderSpec = () => podSpec(snapshotCronJob()).initContainers.find((c: any) => c.name === 'nextcloud-maintenance');
  const dumpSpec = () => podSpec(snapshotCronJob()).initContainers.find((c: any) => c.name === 'dump-mariadb');
  const sqlDumps = () => fs.readdirSync(volumeDir('database-dumps')).filter((f) => f.endsWith('.sql'));

  /** The holder and the MariaDB dump, as the snapshot pod starts them, with the stand-in set up by `env`. */
  async function attempt(env: Record<string, string>, ports: DatabasePorts = { mariadb: mariadb.port }) {
    const volumes = snapshotPodVolumes(fresh('state'));
    const log = standinLog();
    const spec = { ...podSpec(snapshotCronJob()), initContainers: [holderSpec(), dumpSpec()], containers: [] };
    const run = await runPod(spec, (c) => folders(c, volumes, ports, c.name === 'nextcloud-maintenance' ? standinEnv(log, env) : {}));
    return { run, calls: standinCalls(log).map((c) => c.call), state: volumes.state, log: (name: string) => run.containers.find((c) => c.name === name)?.log ?? '' };
  }

  /** The holder alone, started and past its startup probe. */
  async function startHolder(env: Record<string, string>) {
    const volumes = snapshotPodVolumes(fresh('state'));
    const log = standinLog();
    const container = holderSpec();
    const f = folders(container, volumes, {}, standinEnv(log, env));
    const process = startContainer(container, f);
    const deadline = Date.now() + 30_000;
    while (execInContainer(container, f, container.startupProbe.exec.command).status !== 0) {
      if (Date.now() > deadline) throw new Error(`the holder did not start:\n${process.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { process, container, folders: f, state: volumes.state, calls: () => standinCalls(log).map((c) => c.call) };
  }

  test('a failing dump still ends maintenance mode, fails the pod and writes no dump', async () => {
    const dumpsBefore = sqlDumps();
    const { run, calls, log } = await attempt({}, { mariadb: await freePort() });
    expect([run.succeeded, run.failed]).toEqual([false, 'dump-mariadb']);
    expect(log('dump-mariadb')).toContain('mariadb-dump of nextcloud failed');
    expect(calls).toEqual(['config:system:get maintenance', 'maintenance:mode --on', 'maintenance:mode --off']);
    expect(sqlDumps()).toEqual(dumpsBefore);
  });

  test('when maintenance mode cannot be switched on, nothing is dumped and nothing switched off', async () => {
    const dumpsBefore = sqlDumps();
    const { run, calls, log } = await attempt({ STANDIN_FAIL_ON: '1' });
    expect([run.succeeded, run.failed]).toEqual([false, 'dump-mariadb']);
    expect(log('dump-mariadb')).toContain('Nextcloud is not in maintenance mode');
    expect(calls).toEqual(['config:system:get maintenance', 'maintenance:mode --on']);
    expect(sqlDumps()).toEqual(dumpsBefore);
  });

  test('when maintenance mode cannot be switched off, the run fails loudly (and tries again on the way out)', async () => {
    const { run, calls, log } = await attempt({ STANDIN_FAIL_OFF: '1' });
    expect([run.succeeded, run.failed]).toEqual([false, 'dump-mariadb']);
    expect(log('dump-mariadb')).toContain('Nextcloud is still in maintenance mode');
    expect(log('nextcloud-maintenance')).toContain("could not end Nextcloud's maintenance mode");
    expect(calls).toEqual(['config:system:get maintenance', 'maintenance:mode --on', 'maintenance:mode --off', 'maintenance:mode --off']);
  });

  test("an admin's maintenance mode is left alone, and the dump runs inside it", async () => {
    const { run, calls } = await attempt({ STANDIN_ALREADY_ON: '1' });
    expect(run.succeeded).toBe(true);
    expect(calls).toEqual(['config:system:get maintenance']);
  });

  test('a pod stopped during the window (SIGTERM) ends maintenance mode', async () => {
    const holder = await startHolder({});
    expect(holder.calls()).toEqual(['config:system:get maintenance', 'maintenance:mode --on']);
    holder.process.child.kill('SIGTERM');
    expect((await exited(holder.process)).code).toBe(0);
    await holder.process.stop();
    expect(holder.calls()).toEqual(['config:system:get maintenance', 'maintenance:mode --on', 'maintenance:mode --off']);
  });

  test('when the window runs out, maintenance mode ends and the dump refuses to run', async () => {
    // The window shortened to one second for the test; everything else as in dist/.
    const holder = await startHolder({ MAINTENANCE_MAX_SECONDS: '1' });
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(path.join(holder.state, 'maintenance-expired')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    expect(holder.calls()).toEqual(['config:system:get maintenance', 'maintenance:mode --on', 'maintenance:mode --off']);
    const dump = startContainer(dumpSpec(), folders(dumpSpec(), { ...snapshotPodVolumes(holder.state), state: holder.state }, { mariadb: mariadb.port }));
    const end = await exited(dump);
    await dump.stop();
    expect(end.code).not.toBe(0);
    expect(end.log).toContain('Nextcloud is not in maintenance mode');
    holder.process.child.kill('SIGTERM');
    await exited(holder.process);
    await holder.process.stop();
    expect(holder.calls()).toHaveLength(3);
  });

  test("the holder's liveness probe fails only when maintenance is held past its window", () => {
    const container = holderSpec();
    const state = fresh('state');
    const f = folders(container, snapshotPodVolumes(state), {});
    const probe = () => execInContainer(container, f, container.livenessProbe.exec.command).status;
    expect(probe()).toBe(0);
    fs.writeFileSync(path.join(state, 'maintenance-on'), '');
    expect(probe()).toBe(0);
    const old = new Date(Date.now() - (config.kopia.dumps.maintenanceMinutes + 10) * 60_000);
    fs.utimesSync(path.join(state, 'maintenance-on'), old, old);
    expect(probe()).not.toBe(0);
  });
});

describe('restore from the main repository', () => {
  test('record what the snapshot holds, then change and wipe it', () => {
    before.nextcloud = treeFingerprint(volumeDir('nextcloud-data'), skipPreviews);
    before.gitea = treeFingerprint(volumeDir('gitea-data'));
    before.mariadb = mariadbFingerprint(mariadb);
    before.postgres = postgresFingerprint(postgres);
    expect(Object.keys(before.nextcloud).length).toBeGreaterThan(FILES);
    expect(before.mariadb.oc_filecache).toMatch(new RegExp(`^${ROWS} rows`));
    // After the last snapshot: a new file, new rows, then the loss.
    fs.writeFileSync(path.join(volumeDir('nextcloud-data'), 'data', 'alice', 'files', 'after-backup.txt'), 'written after the backup');
    mariadb.sql("INSERT INTO nextcloud.oc_users VALUES ('late', 'after the backup')");
    postgres.sql("INSERT INTO repository (owner, name) VALUES ('late', 'after-backup')", 'gitea');
    fs.rmSync(path.join(volumeDir('gitea-data'), 'git'), { recursive: true });
    for (const f of fs.readdirSync(path.join(volumeDir('nextcloud-data'), 'data', 'alice', 'files'))) if (f.startsWith('dir1')) fs.rmSync(path.join(volumeDir('nextcloud-data'), 'data', 'alice', 'files', f), { recursive: true });
    mariadb.sql('DROP TABLE nextcloud.oc_filecache');
    postgres.sql('DROP TABLE action', 'gitea');
    expect(treeFingerprint(volumeDir('gitea-data'))).not.toEqual(before.gitea);
  });

  test('nextcloud: the generated restore Job brings back the files (owners, modes, contents) and the database', async () => {
    const request: RestoreRequest = { app: 'nextcloud', snapshot: 'latest', from: 'main', restoreId: 'drill-main-nextcloud' };
    const run = await restore(request, volumeDir('kopia-repository'), { mariadb: mariadb.port });
    keepMeasurements(run, 'restore of the Nextcloud folder and its MariaDB dump from the main repository');
    expect(treeFingerprint(volumeDir('nextcloud-data'), skipPreviews)).toEqual(before.nextcloud);
    expect(mariadbFingerprint(mariadb)).toEqual(before.mariadb);
    // What it replaced is kept beside the staging folder, with the late file.
    expect(fs.existsSync(path.join(disk, '.potatostack-restore', 'drill-main-nextcloud', 'replaced', 'nextcloud', 'data', 'alice', 'files', 'after-backup.txt'))).toBe(true);
  });

  test('gitea: the same for its folder and its PostgreSQL database, sequences included', async () => {
    const request: RestoreRequest = { app: 'gitea', snapshot: 'latest', from: 'main', restoreId: 'drill-main-gitea' };
    const run = await restore(request, volumeDir('kopia-repository'), { postgres: postgres.port });
    keepMeasurements(run, 'restore of the Gitea folder and its PostgreSQL dump from the main repository');
    expect(treeFingerprint(volumeDir('gitea-data'))).toEqual(before.gitea);
    expect(postgresFingerprint(postgres)).toEqual(before.postgres);
  });

  test('a restore ID that ran before is refused, and nothing is touched', async () => {
    const { spec } = restorePod({ app: 'gitea', snapshot: 'latest', from: 'main', restoreId: 'drill-main-gitea' });
    const volumes = podVolumes(spec, { repository: volumeDir('kopia-repository'), disk });
    const run = await runPod(spec, (c) => folders(c, volumes, { postgres: postgres.port }, {}, { '/data': disk }));
    expect([run.succeeded, run.failed]).toEqual([false, 'restore-files']);
    expect(run.containers[0].log).toContain('this restore ran before');
    expect(treeFingerprint(volumeDir('gitea-data'))).toEqual(before.gitea);
  });
});

describe('restore from the copy, with the main disk gone', () => {
  test('lose the main disk: repository, app folders and database servers', async () => {
    await stop(mariadb.child, 'SIGTERM');
    await stop(postgres.child, 'SIGINT');
    fs.rmSync(disk, { recursive: true, force: true });
    // A new disk, prepared by prepare-storage.sh; the database servers start empty, as on a fresh install.
    prepareFolders();
    expect(fs.readdirSync(volumeDir('kopia-repository'))).toEqual([]);
    mariadb = await startMariadb(volumeDir('mariadb-data'));
    postgres = await startPostgres(path.join(volumeDir('postgres-data'), 'pgdata'));
  });

  test('nextcloud and gitea come back from the copy, at a snapshot chosen by its ID', async () => {
    const list = inspect(volumeDir('kopia-copy'))(['snapshot', 'list', SNAPSHOT_SOURCE.replace(':/data', `:${disk}`), '--all', '--manifest-id', '--show-identical']);
    const ids = [...list.matchAll(/manifest:([0-9a-f]+)/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(1);
    const latest = ids[ids.length - 1];
    for (const app of ['nextcloud', 'gitea'] as const) {
      const run = await restore({ app, snapshot: latest, from: 'copy', restoreId: `drill-copy-${app}` }, volumeDir('kopia-copy'), { mariadb: mariadb.port, postgres: postgres.port });
      keepMeasurements(run, `restore of the ${app} folder and its dump from the copy on the cache disk`);
    }
    expect(treeFingerprint(volumeDir('nextcloud-data'), skipPreviews)).toEqual(before.nextcloud);
    expect(treeFingerprint(volumeDir('gitea-data'))).toEqual(before.gitea);
    expect(mariadbFingerprint(mariadb)).toEqual(before.mariadb);
    expect(postgresFingerprint(postgres)).toEqual(before.postgres);
  });
});

describe('memory of each step, on the drill data', () => {
  test('every backup and restore container was measured; the sizes hold their peaks', () => {
    const sizes = config.components.kopia.containers;
    const names = ['nextcloud-maintenance', 'dump-mariadb', 'dump-postgres', 'kopia-snapshot', 'kopia-maintenance', 'kopia-verify', 'kopia-copy', 'restore-files', 'restore-mariadb', 'restore-postgres'];
    expect(Object.keys(measured).sort()).toEqual([...names].sort());
    const programs: Record<string, string> = {
      'nextcloud-maintenance': 'sh (dash) with a stand-in php',
      'dump-mariadb': `mariadb-dump ${execFileSync(findBinary('mariadb-dump', MARIADB_DIRS), ['--version'], { encoding: 'utf8' }).trim()}`,
      'restore-mariadb': `mariadb ${execFileSync(findBinary('mariadb', MARIADB_DIRS), ['--version'], { encoding: 'utf8' }).trim()}`,
      'dump-postgres': `pg_dump ${execFileSync(path.join(postgresTools(), 'pg_dump'), ['--version'], { encoding: 'utf8' }).trim()} against PostgreSQL ${postgres.version}`,
      'restore-postgres': `pg_restore ${execFileSync(path.join(postgresTools(), 'pg_restore'), ['--version'], { encoding: 'utf8' }).trim()} against PostgreSQL ${postgres.version}`,
    };
    const kopiaVersion = execFileSync(KOPIA, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0];
    for (const name of names) {
      const { run, conditions } = measured[name];
      const m: FootprintMeasurement = {
        component: 'kopia',
        container: name,
        program: programs[name] ?? `kopia ${kopiaVersion}`,
        configuration: 'script, command, environment, user and capabilities from dist/ (kopia-scripts ConfigMap, the CronJob or the restore generator)',
        conditions: { idle: 'not applicable: a run-to-completion step (idle = its peak)', load: conditions },
        method: run.method,
        idle: run.peak,
        load: run.peak,
      };
      // The snapshot step's size has its own measurement (132k files, reports/kopia-snapshot.md): printed only.
      if (name === 'kopia-snapshot') console.log(describeMeasurement(m));
      else recordFootprint(m);
      const limit = sizes[name].limits.memory;
      const limitBytes = Number(/^([0-9]+)Mi$/.exec(limit)?.[1]) * 1024 ** 2;
      expect([name, run.peak.workingSet < limitBytes]).toEqual([name, true]);
    }
  });
});
