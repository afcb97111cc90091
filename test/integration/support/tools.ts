import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import * as os from 'node:os';

export const ROOT = path.join(__dirname, '..', '..', '..');
const SETUP_HINT = 'run scripts/setup-integration.sh (it installs Debian packages and builds the Go tools into tools/bin)';

/**
 * Absolute path of a tool the integration suite starts for real. Order: the env override,
 * tools/bin, then PATH. A missing tool fails the test with the way to get it; nothing is skipped.
 */
export function requireTool(name: string, envVar?: string, extraCandidates: string[] = []): string {
  const fromEnv = envVar ? process.env[envVar] : undefined;
  const candidates = [fromEnv, path.join(ROOT, 'tools', 'bin', name), ...extraCandidates].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} not found (looked at ${envVar ? `$${envVar}, ` : ''}${candidates.join(', ')} and PATH): ${SETUP_HINT}`);
  }
}

/** Directory of the shared upstream files (CRDs): `$POTATO_SHARED_DIR` or the `shared/` beside the checkout. */
export function sharedDir(): string {
  return process.env.POTATO_SHARED_DIR ?? path.join(ROOT, '..', 'shared');
}

/**
 * A folder holding one link per busybox applet (sh, awk, cmp, ...), to use as PATH so that shell
 * steps meant for the busybox image run with busybox's tools only, nothing from the host.
 */
export function busyboxAppletDir(): string {
  const busybox = process.env.BUSYBOX_BIN ?? 'busybox';
  const probe = spawnSync(busybox, ['--list'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`busybox is missing (${busybox}): install it with 'apt-get install busybox' (scripts/setup-integration.sh does) or set BUSYBOX_BIN`);
  }
  const binary = fs.realpathSync(execFileSync('sh', ['-c', `command -v ${busybox}`], { encoding: 'utf8' }).trim());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'busybox-bin-'));
  for (const applet of probe.stdout.split('\n').filter(Boolean)) fs.symlinkSync(binary, path.join(dir, applet));
  return dir;
}
