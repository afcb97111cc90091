import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeObject } from './kube';
import { requireTool } from './tools';

/** Helm's own cache and config folders, away from the user's (nothing is fetched: charts are local files). */
const HELM_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-helm-'));

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const binary = requireTool('helm', 'HELM_BIN');
  const env = { ...process.env, HELM_CACHE_HOME: path.join(HELM_HOME, 'cache'), HELM_CONFIG_HOME: path.join(HELM_HOME, 'config'), HELM_DATA_HOME: path.join(HELM_HOME, 'data') };
  const run = spawnSync(binary, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function documents(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o?.kind));
}

/** `helm version --short`. */
export function helmVersion(): string {
  return helm(['version', '--short']).stdout.trim();
}

/** Name, version and appVersion from the chart's Chart.yaml (`helm show chart`). */
export function chartMetadata(chart: string): { name: string; version: string; appVersion: string } {
  const run = helm(['show', 'chart', chart]);
  if (run.status !== 0) throw new Error(`helm show chart ${chart} failed: ${run.stderr}`);
  const meta = parse(run.stdout);
  return { name: meta.name, version: String(meta.version), appVersion: String(meta.appVersion) };
}

/** The chart's default values (`helm show values`). */
export function chartDefaults(chart: string): Record<string, unknown> {
  const run = helm(['show', 'values', chart]);
  if (run.status !== 0) throw new Error(`helm show values ${chart} failed: ${run.stderr}`);
  return parse(run.stdout) ?? {};
}

/** The CRDs the chart ships in its crds/ folder (`helm show crds`); empty when it has none. */
export function chartCrds(chart: string): KubeObject[] {
  const run = helm(['show', 'crds', chart]);
  if (run.status !== 0) throw new Error(`helm show crds ${chart} failed: ${run.stderr}`);
  return documents(run.stdout).filter((o) => o.kind === 'CustomResourceDefinition');
}

export interface Rendered {
  /** Helm's exit code: non-zero when the values fail the chart's schema or a template `fail`s. */
  readonly status: number | null;
  readonly stderr: string;
  readonly objects: KubeObject[];
}

/**
 * `helm template` of a local chart with one values file, as helm-controller installs it: release
 * `traefik` in kube-system. The chart's crds/ are left out (k3s installs them from its separate
 * traefik-crd chart).
 */
export function helmTemplate(chart: string, values: string, kubeVersion: string): Rendered {
  const file = path.join(fs.mkdtempSync(path.join(HELM_HOME, 'values-')), 'values.yaml');
  fs.writeFileSync(file, values);
  const run = helm(['template', 'traefik', chart, '--namespace', 'kube-system', '--kube-version', kubeVersion, '--values', file]);
  return { status: run.status, stderr: run.stderr, objects: run.status === 0 ? documents(run.stdout) : [] };
}
