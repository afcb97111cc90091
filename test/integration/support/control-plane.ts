import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireTool } from './tools';

export interface RunningProcess {
  readonly startupMs: number;
  /** The last 20 kB of its stderr, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface RunningControlPlane extends RunningProcess {
  readonly url: string;
  readonly kubeconfig: string;
}

export interface ControlPlaneOptions {
  /**
   * Also run the real kube-controller-manager and kube-scheduler (same release) in the process;
   * the ServiceAccount admission plugin is then on, as on a real cluster.
   * @default false (apiserver only: objects are stored, nothing reconciles them)
   */
  readonly controllers?: boolean;
  /** @default 180000 */
  readonly timeoutMs?: number;
}

/**
 * Starts tools/bin/control-plane (embedded etcd + the real kube-apiserver on loopback, and with
 * `controllers` the real controller-manager and scheduler) and resolves once it prints READY,
 * with a kubeconfig for the admin token.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<RunningControlPlane> {
  const binary = requireTool('control-plane', 'CONTROL_PLANE_BIN');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-control-plane-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const args = ['--kubeconfig-out', kubeconfig, ...(options.controllers ? ['--controllers'] : [])];
  const { output, startupMs, log, stop } = await startUntil(binary, args, /READY (https:\/\/\S+)/, options.timeoutMs ?? 180000);
  return { url: output[1], kubeconfig, startupMs, log, stop };
}

/**
 * Spawns a long-running tool and resolves once its stdout or stderr matches `ready`; rejects
 * with the tool's last log lines when it exits first or the time runs out.
 */
export async function startUntil(
  binary: string,
  args: string[],
  ready: RegExp,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningProcess & { process: ChildProcess; output: RegExpExecArray }> {
  const name = path.basename(binary);
  const started = Date.now();
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  let seen = '';
  const output = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} not ready after ${timeoutMs} ms; last log:\n${stderr}`));
    }, timeoutMs);
    const watch = (chunk: Buffer) => {
      seen = (seen + chunk).slice(-20000);
      const match = ready.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout!.on('data', watch);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk).slice(-20000);
      watch(chunk);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready; last log:\n${stderr}`));
    });
  });
  return {
    process: child,
    output,
    startupMs: Date.now() - started,
    log: () => stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15000).unref();
      }),
  };
}
