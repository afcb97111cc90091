import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChildProcess, execFileSync } from 'node:child_process';

/**
 * Small helpers for the database servers the backup drill starts (freePort is in load.ts,
 * systemUser and the deployed PostgreSQL major in postgres.ts).
 */

/** How to get the database servers the integration suite starts. */
export const DATABASE_INSTALL_HINT = 'install the servers with `sudo apt-get install -y mariadb-server postgresql` (or run scripts/setup-integration.sh)';

export function findBinary(name: string, dirs: string[]): string {
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found in ${dirs.join(', ')}: ${DATABASE_INSTALL_HINT}`);
}

/** Where Debian puts MariaDB's server and client programs. */
export const MARIADB_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];

/** Newest PostgreSQL server directory Debian installed (/usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => fs.existsSync(path.join(base, d, 'bin', 'postgres'))) : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server under ${base}: ${DATABASE_INSTALL_HINT}`);
  return path.join(base, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

export async function waitUntil(what: string, check: () => boolean, child: ChildProcess, log: () => string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log()}`);
    if (check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000}s:\n${log()}`);
}

export function succeeds(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
