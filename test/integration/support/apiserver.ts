import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireTool } from './tools';

export interface RunningApiServer {
  readonly url: string;
  readonly kubeconfig: string;
  readonly startupMs: number;
  stop(): Promise<void>;
}

/**
 * Starts tools/bin/kube-apiserver (embedded etcd + the real kube-apiserver on loopback) and
 * resolves once it prints READY, with a kubeconfig for the admin token.
 */
export async function startApiServer(timeoutMs = 180000): Promise<RunningApiServer> {
  const binary = requireTool('kube-apiserver', 'KUBE_APISERVER_BIN');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-apiserver-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const started = Date.now();
  const child: ChildProcess = spawn(binary, ['--kubeconfig-out', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kube-apiserver not ready after ${timeoutMs} ms; last log:\n${stderr}`)), timeoutMs);
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const match = /READY (https:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kube-apiserver exited with ${code} before it was ready; last log:\n${stderr}`));
    });
  });
  return {
    url,
    kubeconfig,
    startupMs: Date.now() - started,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15000).unref();
      }),
  };
}
