import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';

/** Outcome of one probe, judged as the kubelet judges it. */
export interface ProbeResult {
  readonly kind: 'startupProbe' | 'readinessProbe' | 'livenessProbe';
  readonly handler: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ProbeTarget {
  /** Address the program listens on here. @default '127.0.0.1' */
  readonly host?: string;
  /** Container port -> port the program listens on here, when they differ. */
  readonly portMap?: Readonly<Record<number, number>>;
  /**
   * Runs an exec probe's command here (the container's filesystem is not there). Return the exit code
   * and output. Required when the container has exec probes.
   */
  readonly exec?: (command: readonly string[]) => { status: number | null; output: string };
}

function resolvePort(container: any, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = (container.ports ?? []).find((p: any) => p.name === port);
  if (!named) throw new Error(`container ${container.name}: probe names port '${port}', which the container does not declare`);
  return named.containerPort;
}

function httpProbe(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve) => {
    const request = client.get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      // kubelet: 200 <= status < 400 is success
      resolve({ ok: status >= 200 && status < 400, detail: `HTTP ${status}` });
    });
    request.on('timeout', () => {
      request.destroy();
      resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` });
    });
    request.on('error', (error) => resolve({ ok: false, detail: error.message }));
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs }, () => {
      socket.destroy();
      resolve({ ok: true, detail: 'connected' });
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve({ ok: false, detail: `no connection within ${timeoutMs} ms` });
    });
    socket.on('error', (error) => resolve({ ok: false, detail: error.message }));
  });
}

/** Runs one probe of a container spec (from dist/) against the program running here. */
export async function runProbe(container: any, kind: ProbeResult['kind'], target: ProbeTarget = {}): Promise<ProbeResult> {
  const probe = container[kind];
  if (!probe) throw new Error(`container ${container.name} has no ${kind}`);
  const host = target.host ?? '127.0.0.1';
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const mapPort = (port: number) => target.portMap?.[port] ?? port;
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = mapPort(resolvePort(container, g.port));
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const headers = Object.fromEntries((g.httpHeaders ?? []).map((h: any) => [h.name, h.value]));
    const url = `${scheme}://${host}:${port}${g.path ?? '/'}`;
    const r = await httpProbe(url, headers, timeoutMs);
    return { kind, handler: `GET ${g.path ?? '/'} on ${resolvePort(container, g.port)}`, ...r };
  }
  if (probe.tcpSocket) {
    const port = mapPort(resolvePort(container, probe.tcpSocket.port));
    const r = await tcpProbe(host, port, timeoutMs);
    return { kind, handler: `TCP ${resolvePort(container, probe.tcpSocket.port)}`, ...r };
  }
  if (probe.exec) {
    const command: string[] = probe.exec.command;
    if (!target.exec) throw new Error(`container ${container.name}: ${kind} is an exec probe (${command.join(' ')}); pass ProbeTarget.exec to run it`);
    const r = target.exec(command);
    return { kind, handler: `exec ${command.join(' ')}`, ok: r.status === 0, detail: `exit ${r.status}: ${r.output.trim().slice(-300)}` };
  }
  throw new Error(`container ${container.name}: ${kind} has no handler this harness knows (${Object.keys(probe).join(', ')})`);
}

/** Every probe the container defines, run once each. */
export async function runAllProbes(container: any, target: ProbeTarget = {}): Promise<ProbeResult[]> {
  const kinds = (['startupProbe', 'readinessProbe', 'livenessProbe'] as const).filter((k) => container[k]);
  if (kinds.length === 0) throw new Error(`container ${container.name} defines no probes`);
  const results: ProbeResult[] = [];
  for (const kind of kinds) results.push(await runProbe(container, kind, target));
  return results;
}

/** Polls a probe until it succeeds, as a startup probe would, or fails with the last answer. */
export async function waitForProbe(container: any, kind: ProbeResult['kind'], target: ProbeTarget = {}, timeoutMs = 120000): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  let last: ProbeResult | undefined;
  while (Date.now() < deadline) {
    last = await runProbe(container, kind, target);
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${container.name} ${kind} did not succeed within ${timeoutMs} ms; last: ${last?.handler} -> ${last?.detail}`);
}

/** An exec runner for probes whose command runs a local program directly. */
export function localExec(env: NodeJS.ProcessEnv = process.env): NonNullable<ProbeTarget['exec']> {
  return (command) => {
    const r = spawnSync(command[0], command.slice(1), { encoding: 'utf8', env, timeout: 30000 });
    return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
  };
}

/** How a container's start went, judged against the kubelet's probe schedule. */
export interface StartVerdict {
  /** Time from start to the first passing readiness probe (or startup probe when there is no readiness probe). */
  readonly readyAfterMs: number;
  /** Set when the kubelet would have restarted the container before it became ready, and why. */
  readonly wouldRestart?: string;
}

/**
 * Waits for a freshly started container to become ready while judging its start as the kubelet
 * would: a startup probe must pass within initialDelaySeconds + failureThreshold × periodSeconds;
 * without one, the liveness probe runs on its schedule and failureThreshold failures in a row
 * before readiness mean a restart. It keeps waiting past that point (up to `patienceMs`) so that
 * a slow start can still be measured; the verdict says whether the kubelet would have allowed it.
 */
export async function waitForStartAsKubelet(container: any, target: ProbeTarget = {}, patienceMs = 300000): Promise<StartVerdict> {
  const started = Date.now();
  const elapsed = () => Math.round((Date.now() - started) / 1000);
  const schedule = (probe: any) => ({
    delayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds ?? 10) * 1000,
    threshold: probe.failureThreshold ?? 3,
  });
  let wouldRestart: string | undefined;
  const gate = container.startupProbe ? 'startupProbe' : undefined;
  const startupBudgetMs = gate ? schedule(container.startupProbe).delayMs + schedule(container.startupProbe).threshold * schedule(container.startupProbe).periodMs : 0;
  const liveness = !gate && container.livenessProbe ? schedule(container.livenessProbe) : undefined;
  const readiness = container.readinessProbe ? 'readinessProbe' : gate ?? 'livenessProbe';
  let gatePassed = !gate;
  let failuresInARow = 0;
  let nextLiveness = started + (liveness?.delayMs ?? 0);
  while (Date.now() - started < patienceMs) {
    if (!gatePassed && gate) {
      gatePassed = (await runProbe(container, gate, target)).ok;
      if (!gatePassed && !wouldRestart && Date.now() - started > startupBudgetMs) {
        wouldRestart = `its startup probe did not pass within ${startupBudgetMs / 1000} s`;
      }
    }
    if (gatePassed && (await runProbe(container, readiness, target)).ok) return { readyAfterMs: Date.now() - started, wouldRestart };
    if (liveness && !wouldRestart && Date.now() >= nextLiveness) {
      const live = await runProbe(container, 'livenessProbe', target);
      failuresInARow = live.ok ? 0 : failuresInARow + 1;
      if (failuresInARow >= liveness.threshold) {
        wouldRestart = `its liveness probe (${live.handler}) failed ${failuresInARow} times in a row (last: ${live.detail}) before it was ready, ${elapsed()} s after start`;
      }
      nextLiveness += liveness.periodMs;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${container.name}: not ready within ${patienceMs / 1000} s${wouldRestart ? `; the kubelet would have restarted it: ${wouldRestart}` : ''}`);
}
