import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { PotatoStackConfig } from '../lib/config';
import { cidrRange, ipv4ToNumber } from '../lib/config/cidr';
import { memoryBytes } from '../lib/config/quantity';
import { computeBudget } from '../lib/budget';
import { THRESHOLDS } from '../lib/apps/monitoring/rules';
import { TRAEFIK_CHART_ANNOTATION, traefikValuesFit } from '../lib/config/traefik-chart';
import type { Kube, KubeObject } from './shared/kube';
import { staleDistFiles } from './shared/project';
import { connect, print, readSecrets, stackSecrets, type GlobalOptions } from './shared/context';
import { parseDuration } from './shared/rollout';
import { secretProblems } from './shared/secret-catalog';

/** One check's verdict. */
export interface CheckResult {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

const pass = (check: string, detail: string): CheckResult => ({ check, ok: true, detail });
const fail = (check: string, detail: string): CheckResult => ({ check, ok: false, detail });

/** The first k3s release that bundles a Traefik v3 chart (34.2.1), which the Traefik values need. */
export const MIN_K3S_VERSION = 'v1.32.2+k3s1';

/** `v1.32.2+k3s1` as comparable numbers [major, minor, patch, k3s release]; undefined when not a k3s version. */
export function parseK3sVersion(version: string): [number, number, number, number] | undefined {
  const match = /^v([0-9]+)\.([0-9]+)\.([0-9]+)\+k3s([0-9]+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])] : undefined;
}

export function checkK3sVersion(kubeletVersion: string): CheckResult {
  const version = parseK3sVersion(kubeletVersion);
  if (!version) return fail('k3s version', `the node runs ${kubeletVersion}, which is not a k3s release (the stack needs k3s ${MIN_K3S_VERSION} or later: its Helm controller, Traefik, ServiceLB and policy controller)`);
  const minimum = parseK3sVersion(MIN_K3S_VERSION)!;
  const older = version.findIndex((n, i) => n !== minimum[i]);
  if (older >= 0 && version[older] < minimum[older]) {
    return fail('k3s version', `${kubeletVersion} is older than ${MIN_K3S_VERSION}, the first release that bundles the Traefik v3 chart the stack's values need: upgrade k3s`);
  }
  return pass('k3s version', kubeletVersion);
}

/** What a HelmChart names as its chart: the `spec.chart` URL k3s writes, or `spec.version` for a repository chart. */
export function traefikChartReference(helmChart: KubeObject): string {
  const chart = String(helmChart.spec?.chart ?? '');
  return chart.endsWith('.tgz') || !helmChart.spec?.version ? chart : String(helmChart.spec.version);
}

/**
 * The cluster's Traefik chart against the values in dist/: the chart generation the
 * HelmChartConfig's annotation names (else `ingress.traefikChart`) must be the one of the chart
 * k3s bundles (lib/config/traefik-chart.ts decides).
 */
export function checkTraefikChart(config: PotatoStackConfig, helmChart: KubeObject | undefined, helmChartConfig?: KubeObject): CheckResult {
  const name = 'Traefik chart';
  if (config.ingress.mode === 'nginx-proxy-manager') {
    return helmChart
      ? fail(name, 'k3s still deploys Traefik, which holds ports 80/443: start k3s with --disable=traefik for the nginx-proxy-manager mode (docs/ingress.md)')
      : pass(name, 'not deployed (k3s runs with --disable=traefik), as the nginx-proxy-manager mode needs');
  }
  if (!helmChart) return fail(name, 'kube-system has no HelmChart traefik: k3s runs without its Traefik (--disable=traefik?), which ingress.mode traefik needs');
  const synthesizedFor = helmChartConfig?.metadata.annotations?.[TRAEFIK_CHART_ANNOTATION] ?? config.ingress.traefikChart;
  const fit = traefikValuesFit(synthesizedFor, traefikChartReference(helmChart));
  return fit.fits ? pass(name, fit.message) : fail(name, fit.message);
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`;

/**
 * The storage node against the config: its name, architecture, memory and address.
 * `expectedReserved` is what the budget's kubelet settings (dist/host/k3s/kubelet.yaml) hold back
 * from MemTotal: eviction threshold, system-reserved and kube-reserved.
 */
export function checkNode(config: PotatoStackConfig, nodes: readonly KubeObject[], expectedReserved?: number): CheckResult[] {
  const name = config.storage.nodeName;
  const node = nodes.find((n) => n.metadata.name === name);
  if (!node) {
    return [fail('node', `no node named '${name}' (storage.nodeName); the cluster has: ${nodes.map((n) => n.metadata.name).join(', ') || 'no nodes'}`)];
  }
  const results = [pass('node', `'${name}' exists`)];
  const arch = node.status?.nodeInfo?.architecture;
  results.push(arch === 'arm64' ? pass('architecture', 'arm64') : fail('architecture', `node '${name}' is ${arch ?? 'of unknown architecture'}; the stack targets the Le Potato's arm64 (every image is chosen for it)`));
  const capacity = memoryBytes(String(node.status?.capacity?.memory ?? ''));
  const allocatable = memoryBytes(String(node.status?.allocatable?.memory ?? ''));
  const modelled = memoryBytes(config.node.memTotal)!;
  if (capacity === undefined) results.push(fail('memory', `node '${name}' reports no memory capacity`));
  else if (capacity < modelled) {
    results.push(
      fail('memory', `node '${name}' has ${mib(capacity)} (MemTotal), node.memTotal says ${mib(modelled)}: the budget would promise memory the board does not have; set node.memTotal to '${Math.floor(capacity / MiB)}Mi'`),
    );
  } else results.push(pass('memory', `${mib(capacity)} MemTotal; the budget counts node.memTotal ${mib(modelled)}`));
  if (capacity !== undefined && allocatable !== undefined && expectedReserved !== undefined) {
    const reserved = capacity - allocatable;
    // The kubelet reports in Ki; a difference under 1 MiB is rounding.
    results.push(
      Math.abs(reserved - expectedReserved) < MiB
        ? pass('kubelet reservations', `${mib(reserved)} held back from MemTotal, as dist/host/k3s/kubelet.yaml says`)
        : fail(
            'kubelet reservations',
            `node '${name}' holds back ${mib(reserved)} of its memory (MemTotal - allocatable), the budget expects ${mib(expectedReserved)}: the kubelet does not run with dist/host/k3s/kubelet.yaml; run sh dist/host/setup-host.sh as root on the board and restart k3s (docs/footprint.md)`,
          ),
    );
  }
  const address = (node.status?.addresses ?? []).find((a: any) => a.type === 'InternalIP' && isIPv4(a.address))?.address as string | undefined;
  results.push(checkAddress(config, name, address));
  return results;
}

function inCidr(address: string, cidr: string): boolean {
  const [start, end] = cidrRange(cidr);
  const n = ipv4ToNumber(address);
  return n >= start && n <= end;
}

export function checkAddress(config: PotatoStackConfig, node: string, address: string | undefined): CheckResult {
  if (!address) return fail('LAN range', `node '${node}' reports no IPv4 InternalIP`);
  const { lanCidr, nodeCidr } = config.network;
  if (!inCidr(address, lanCidr)) {
    return fail('LAN range', `node '${node}' has address ${address}, outside network.lanCidr ${lanCidr}: the web UIs would answer 403 to your LAN and the API clients could not reach the node; set network.lanCidr to your LAN`);
  }
  if (nodeCidr && !inCidr(address, nodeCidr)) {
    return fail('LAN range', `node '${node}' has address ${address}, outside network.nodeCidr ${nodeCidr}: the API clients' policies would not reach it`);
  }
  return pass('LAN range', `${address} is in ${lanCidr}${nodeCidr ? ` and ${nodeCidr}` : ''}`);
}

/** One disk as the check pod saw it. */
export interface DiskReport {
  readonly disk: string;
  readonly path: string;
  readonly mounted: boolean;
  readonly sizeKiB: number;
  readonly availKiB: number;
}

/**
 * Shell script of the disk check pod (busybox). A bind mount is always a mount point inside the
 * container, so `mountpoint` there proves nothing: the script looks the host path up in the
 * mount table of the host's init process instead, and `df` on the bind mount reports the file
 * system underneath. One line per disk goes to the termination message (the pod status), so no
 * log access is needed.
 */
export const DISK_CHECK_SCRIPT = [
  'set -eu',
  ': > "$OUT"',
  'check() {',
  '  if awk -v p="$2" \'$5 == p { found = 1 } END { exit found ? 0 : 1 }\' "$PROC/1/mountinfo"; then mounted=yes; else mounted=no; fi',
  '  df -Pk "$3" | awk -v disk="$1" -v path="$2" -v mounted="$mounted" \'NR == 2 { print "disk " disk " " path " mounted=" mounted " size_kib=" $2 " avail_kib=" $4 }\' >> "$OUT"',
  '}',
  'check main "$MAIN_PATH" "$MAIN_DIR"',
  'check cache "$CACHE_PATH" "$CACHE_DIR"',
  'cat "$OUT"',
].join('\n');

export function parseDiskReport(text: string): DiskReport[] {
  const result: DiskReport[] = [];
  for (const line of text.split('\n')) {
    const match = /^disk (\S+) (\S+) mounted=(yes|no) size_kib=([0-9]+) avail_kib=([0-9]+)$/.exec(line.trim());
    if (match) result.push({ disk: match[1], path: match[2], mounted: match[3] === 'yes', sizeKiB: Number(match[4]), availKiB: Number(match[5]) });
  }
  return result;
}

const KIB_PER_GIB = 1024 * 1024;

export function checkDisks(config: PotatoStackConfig, reports: readonly DiskReport[]): CheckResult[] {
  return (['main', 'cache'] as const).map((disk) => {
    const path = disk === 'main' ? config.storage.mainPath : config.storage.cachePath;
    const name = `${disk} disk`;
    const report = reports.find((r) => r.disk === disk);
    if (!report) return fail(name, `the check pod reported nothing for ${path}`);
    if (!report.mounted) return fail(name, `${path} is not a mount point on node '${config.storage.nodeName}': the data would land on the SD card; mount the HDD there`);
    const usedPercent = report.sizeKiB > 0 ? (100 * (report.sizeKiB - report.availKiB)) / report.sizeKiB : 100;
    const summary = `${(report.availKiB / KIB_PER_GIB).toFixed(1)} GiB free of ${(report.sizeKiB / KIB_PER_GIB).toFixed(1)} GiB`;
    if (usedPercent > THRESHOLDS.diskCriticalPercent) return fail(name, `${path} is ${usedPercent.toFixed(0)} % full (${summary}); the disk alert is critical above ${THRESHOLDS.diskCriticalPercent} %`);
    return pass(name, `${path} mounted, ${summary}`);
  });
}

/** The short-lived pod that runs DISK_CHECK_SCRIPT on the storage node. */
export function diskCheckPod(config: PotatoStackConfig, name: string): KubeObject {
  const { mainPath, cachePath, nodeName } = config.storage;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'potatostack-preflight' } },
    spec: {
      // Bypasses the scheduler: the check is about this node, whatever its taints or free memory.
      nodeName,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      containers: [
        {
          name: 'disks',
          image: config.images.busybox,
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', DISK_CHECK_SCRIPT],
          env: [
            { name: 'OUT', value: '/dev/termination-log' },
            { name: 'PROC', value: '/host/proc' },
            { name: 'MAIN_PATH', value: mainPath },
            { name: 'MAIN_DIR', value: '/disks/main' },
            { name: 'CACHE_PATH', value: cachePath },
            { name: 'CACHE_DIR', value: '/disks/cache' },
          ],
          resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '200m', memory: '32Mi' } },
          // Root (uid of the host's init) to read its mount table; no capabilities, nothing writable.
          securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
          volumeMounts: [
            { name: 'proc', mountPath: '/host/proc', readOnly: true },
            { name: 'main', mountPath: '/disks/main', readOnly: true },
            { name: 'cache', mountPath: '/disks/cache', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'proc', hostPath: { path: '/proc', type: 'Directory' } },
        // Directory, never DirectoryOrCreate: a missing folder fails the pod instead of being made on the SD card.
        { name: 'main', hostPath: { path: mainPath, type: 'Directory' } },
        { name: 'cache', hostPath: { path: cachePath, type: 'Directory' } },
      ],
    },
  };
}

/** Runs the disk check pod, waits for its verdict and removes it. */
async function runDiskCheck(kube: Kube, config: PotatoStackConfig, timeoutMs: number): Promise<CheckResult[]> {
  const name = `potatostack-preflight-${randomBytes(3).toString('hex')}`;
  await kube.create(diskCheckPod(config, name));
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pod = await kube.get('v1', 'Pod', name, 'kube-system');
      const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
      if (terminated) {
        if (terminated.exitCode !== 0) return [fail('disks', `the check pod failed (exit ${terminated.exitCode}): ${terminated.message ?? terminated.reason ?? ''}`.trim())];
        return checkDisks(config, parseDiskReport(String(terminated.message ?? '')));
      }
      if (Date.now() >= deadline) {
        const events = await kube.list('v1', 'Event', { namespace: 'kube-system' });
        const messages = events.filter((e) => e.involvedObject?.name === name && e.type === 'Warning').map((e) => e.message as string);
        const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting;
        const why = [...new Set(messages), waiting?.reason].filter(Boolean).join('; ');
        return [fail('disks', `the check pod on node '${config.storage.nodeName}' did not finish within ${Math.round(timeoutMs / 1000)} s${why ? `: ${why}` : ` (phase ${pod?.status?.phase ?? 'unknown'})`}; a missing disk folder shows as "hostPath type check failed"`)];
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    await kube.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'kube-system' } });
  }
}

export interface PreflightOptions extends GlobalOptions {
  readonly diskCheck?: boolean;
  readonly diskCheckTimeout?: string;
}

/** `potatostack preflight`: every check, one line each; non-zero exit when one fails. */
export async function preflightCommand(options: PreflightOptions): Promise<number> {
  const { project, config, dist, required } = stackSecrets(options);
  const results: CheckResult[] = [];
  const stale = staleDistFiles(project, config);
  results.push(stale.length === 0 ? pass('dist/', 'matches stack.config.ts') : fail('dist/', `differs from what stack.config.ts synthesizes (${stale.join(', ')}): run npm run synth`));
  const kube = await connect(options);
  const nodes = await kube.list('v1', 'Node');
  const storageNode = nodes.find((n) => n.metadata.name === config.storage.nodeName);
  const kubeletVersion = storageNode?.status?.nodeInfo?.kubeletVersion ?? (await kube.call('GET', '/version')).gitVersion;
  results.push(checkK3sVersion(String(kubeletVersion)));
  const helmChartConfig = dist.find((d) => d.object.kind === 'HelmChartConfig' && d.object.metadata.name === 'traefik')?.object;
  results.push(checkTraefikChart(config, await kube.get('helm.cattle.io/v1', 'HelmChart', 'traefik', 'kube-system'), helmChartConfig));
  const budget = computeBudget(config, dist.map((d) => d.object));
  results.push(...checkNode(config, nodes, budget.node.capacity - budget.node.allocatable));
  if (options.diskCheck === false) results.push(pass('disks', 'not checked (--no-disk-check)'));
  else if (!storageNode) results.push(fail('disks', 'not checked: the storage node does not exist'));
  else results.push(...(await runDiskCheck(kube, config, parseDuration(options.diskCheckTimeout ?? '3m'))));
  const problems = secretProblems(required, await readSecrets(kube, required));
  if (problems.length === 0) results.push(pass('Secrets', `all ${required.length} present with their keys`));
  else results.push(...problems.map((p) => fail('Secrets', `${p}: run npx potatostack secrets`)));
  for (const r of results) print(`${r.ok ? 'ok  ' : 'FAIL'} ${r.check}: ${r.detail}`);
  const failed = results.filter((r) => !r.ok).length;
  print(failed === 0 ? 'preflight passed' : `preflight failed: ${failed} check(s)`);
  return failed === 0 ? 0 : 1;
}
