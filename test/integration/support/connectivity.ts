import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ROOT, requireTool } from './tools';

/** One allowed connection as np-guard's netpol-analyzer prints it. */
export interface Connection {
  readonly src: string;
  readonly dst: string;
  readonly conn: string;
}

export const EXPECTED_FILE = path.join(ROOT, 'docs', 'expected-connectivity.yaml');

/**
 * k3s's own pods are not in dist/: the analyzer only knows workloads it reads, so Traefik and
 * CoreDNS are modelled with the labels k3s gives them.
 */
export const K3S_MODEL = `apiVersion: v1
kind: Namespace
metadata: {name: kube-system, labels: {kubernetes.io/metadata.name: kube-system}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: traefik, namespace: kube-system}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: traefik}}
  template:
    metadata: {labels: {app.kubernetes.io/name: traefik, app.kubernetes.io/instance: traefik-kube-system}}
    spec: {containers: [{name: traefik, image: rancher/mirrored-library-traefik, ports: [{containerPort: 8000}, {containerPort: 8443}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec: {containers: [{name: coredns, image: rancher/mirrored-coredns-coredns, ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}]}]}
`;

/** Copies the manifests of a directory plus the k3s model into a fresh directory for the analyzer. */
export function analysisDir(manifestDir: string, extraYaml: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-netpol-'));
  for (const file of fs.readdirSync(manifestDir).filter((f) => f.endsWith('.yaml'))) fs.copyFileSync(path.join(manifestDir, file), path.join(dir, file));
  fs.writeFileSync(path.join(dir, 'k3s-model.yaml'), K3S_MODEL);
  for (const [name, text] of Object.entries(extraYaml)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Runs the analyzer; keeps the connections that involve the stack's zones (k3s-internal ones are not ours). */
export function analyze(dir: string): Connection[] {
  const binary = requireTool('netpolicy', 'NETPOLICY_BIN');
  const output = execFileSync(binary, ['list', '--dirpath', dir, '-o', 'json', '-q'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const all = JSON.parse(output) as Connection[];
  const ours = (endpoint: string) => /^[a-z0-9-]+\/[a-z0-9-]+\[/.test(endpoint) && !endpoint.startsWith('kube-system/');
  return all.filter((c) => ours(c.src) || ours(c.dst));
}

/** The expected matrix, as `src => dst : conn` lines. */
export function expectedConnections(): Connection[] {
  const doc = parse(fs.readFileSync(EXPECTED_FILE, 'utf8')) as { flows: Array<{ flow: string; connections: Connection[] }> };
  return doc.flows.flatMap((f) => f.connections);
}

export function key(c: Connection): string {
  return `${c.src} => ${c.dst} : ${c.conn}`;
}

/** Connections allowed but not expected, and expected but not allowed. */
export function compare(actual: Connection[], expected: Connection[]): { unexpected: string[]; missing: string[] } {
  const a = new Set(actual.map(key));
  const e = new Set(expected.map(key));
  return { unexpected: [...a].filter((k) => !e.has(k)).sort(), missing: [...e].filter((k) => !a.has(k)).sort() };
}
