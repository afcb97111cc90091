import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PotatoStackOverrides, resolveConfig } from '../../../lib/config';
import { synthesize } from '../../../lib/stack';
import { ROOT } from './tools';

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `cli/bin.js` (what `npx potatostack` runs) as the operator would, in its own process.
 * `onStdout` sees the output as it arrives (to act while a command waits).
 */
export function runCli(args: readonly string[], env: Record<string, string>, onStdout?: (soFar: string) => void): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'cli', 'bin.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      onStdout?.(stdout);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A project folder like the repository's: stack.config.ts with these overrides, and dist/ synthesized from them. */
export function makeProject(overrides: PotatoStackOverrides): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-cli-project-'));
  fs.writeFileSync(path.join(dir, 'stack.config.ts'), `export const overrides = ${JSON.stringify(overrides, null, 2)};\n`);
  synthesize(resolveConfig(overrides), path.join(dir, 'dist'));
  return dir;
}
