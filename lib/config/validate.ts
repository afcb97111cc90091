import { isIpv4Cidr } from './cidr';
import { DEFAULT_CONFIG } from './defaults';
import { COMPONENTS, COMPONENT_DEPENDENCIES, COMPONENT_NAMES, INGRESS_COMPONENTS } from './components';
import { checkGitOps } from './gitops';
import { FLOATING_TAGS, IMAGE_REFERENCE_PATTERN } from './images';
import { checkKopia } from './kopia';
import { checkNextcloud } from './nextcloud';
import { checkManagement } from './management';
import { checkPostgres } from './postgres';
import { checkTraefikChart } from './traefik-chart';
import { checkPrometheusAndAlerts } from './prometheus';
import { CPU_FORMAT_HINT, MEMORY_FORMAT_HINT, cpuMillis, memoryBytes } from './quantity';
import type { PotatoStackConfig } from './types';
import { STORAGE_CLASSES, VOLUMES, hostPathOf, type VolumeSpec } from './volumes';
import { checkVpn } from './vpn';

/** A config that cannot be synthesized; `problems` lists every finding, one per prop. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid PotatoStack config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Records one problem as "<prop>: <value> <what is wrong>; <what is allowed>". */
export type Report = (prop: string, value: unknown, allowed: string) => void;

export function describe(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return value.length > 0;
  } catch {
    return false;
  }
}

type ValueKind = 'string' | 'number' | 'boolean' | 'list' | 'object' | 'null';

function kindOf(value: unknown): ValueKind | undefined {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'object' ? type : undefined;
}

const KIND_HINTS: Readonly<Record<ValueKind, string>> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  list: 'a list',
  object: 'an object of settings',
  null: 'null',
};

/**
 * The generic type check: every value of the merged config has the type of its default
 * (`shape`), lists element by element against the default's first element. It runs before the
 * specific checks, which may then rely on the types (an array where a path belongs would
 * otherwise crash them or slip into the manifests). Props whose default is undefined are left
 * to their own checks; keys an open map adds take the shape of the map's first default entry.
 */
export function checkShapes(shape: unknown, value: unknown, prop: string, report: Report): void {
  const expected = kindOf(shape);
  if (expected === undefined || value === undefined) return;
  const actual = kindOf(value);
  if (actual !== expected) {
    report(prop, value, KIND_HINTS[expected]);
    return;
  }
  if (expected === 'number' && !Number.isFinite(value)) {
    report(prop, value, 'a finite number');
  } else if (expected === 'list') {
    const [element] = shape as unknown[];
    (value as unknown[]).forEach((item, i) => checkShapes(element, item, `${prop}[${i}]`, report));
  } else if (expected === 'object') {
    const base = shape as Record<string, unknown>;
    const sibling = Object.values(base)[0];
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      checkShapes(key in base ? base[key] : sibling, item, prop ? `${prop}.${key}` : key, report);
    }
  }
}

/** An absolute folder path without a trailing slash, `.`/`..` segments or doubled slashes. */
function isAbsoluteFolder(value: string): boolean {
  return /^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/.test(value) && !value.split('/').some((part) => part === '..' || part === '.') && !value.includes('//');
}

function checkStorage(config: PotatoStackConfig, report: Report): void {
  const { storage } = config;
  if (!DNS_NAME.test(storage.nodeName)) report('storage.nodeName', storage.nodeName, 'a Kubernetes node name (lowercase DNS name)');
  storage.mountRoots.forEach((root, i) => {
    if (!isAbsoluteFolder(root)) report(`storage.mountRoots[${i}]`, root, "an absolute folder other than '/' (no trailing slash, no '..'), such as '/mnt'");
  });
  const roots = storage.mountRoots.filter(isAbsoluteFolder);
  if (storage.mountRoots.length === 0) report('storage.mountRoots', storage.mountRoots, "at least one folder the disks are mounted below, such as ['/mnt']");
  for (const prop of ['mainPath', 'cachePath'] as const) {
    const value = storage[prop];
    if (!isAbsoluteFolder(value) || !roots.some((root) => value.startsWith(`${root}/`))) {
      report(
        `storage.${prop}`,
        value,
        `the absolute path of a disk's mount point inside ${roots.join(', ') || 'storage.mountRoots'}, such as '/mnt/seconddrive' (no trailing slash, no '..'); any other folder is on the SD card (storage.mountRoots lists where disks are mounted)`,
      );
    }
  }
  const [main, cache] = [storage.mainPath, storage.cachePath];
  if (main === cache || main.startsWith(`${cache}/`) || cache.startsWith(`${main}/`)) {
    report('storage.cachePath', cache, `a mount point separate from storage.mainPath ('${main}'): the two HDDs are different disks`);
  }
  for (const problem of volumeFolderConflicts(VOLUMES.filter((v) => config.components[v.component].enabled), storage)) {
    report(problem.prop, problem.value, problem.allowed);
  }
}

function ownerOf(volume: VolumeSpec): string {
  return `${volume.uid}:${volume.gid} mode ${volume.mode}`;
}

/**
 * Volumes whose host folders collide: a folder outside its disk, or two writable volumes on
 * one folder (or one inside the other) with different owners. The host preparation script
 * would give the folder one owner and mode, and the other app could not write (or could
 * write into the first app's data). Read-only volumes never set an owner, so they collide
 * with nothing.
 */
export function volumeFolderConflicts(
  volumes: readonly VolumeSpec[],
  storage: { mainPath: string; cachePath: string },
): Array<{ prop: string; value: unknown; allowed: string }> {
  const problems: Array<{ prop: string; value: unknown; allowed: string }> = [];
  for (const volume of volumes) {
    if (volume.folder.startsWith('/') || volume.folder.split('/').some((part) => part === '..' || part === '.')) {
      problems.push({ prop: `volume ${volume.name}`, value: volume.folder, allowed: `a folder relative to the ${volume.disk} disk (${STORAGE_CLASSES[volume.disk]}), without '..'` });
    }
  }
  const writable = volumes.filter((v) => !v.readOnly);
  for (let i = 0; i < writable.length; i++) {
    for (let j = i + 1; j < writable.length; j++) {
      const [a, b] = [writable[i], writable[j]];
      const [pathA, pathB] = [hostPathOf(a, storage), hostPathOf(b, storage)];
      const relation = pathA === pathB ? 'the same host folder as' : pathB.startsWith(`${pathA}/`) || pathA.startsWith(`${pathB}/`) ? 'a host folder nested with that of' : undefined;
      if (relation && ownerOf(a) !== ownerOf(b)) {
        problems.push({
          prop: `volume ${b.name}`,
          value: pathB,
          allowed: `a host folder of its own: it is ${relation} volume ${a.name} ('${pathA}'), with a different owner (${ownerOf(b)} vs ${ownerOf(a)})`,
        });
      }
    }
  }
  return problems;
}

function checkNetwork(config: PotatoStackConfig, report: Report): void {
  const { network } = config;
  for (const prop of ['podCidr', 'serviceCidr', 'lanCidr', 'wireguardClientCidr', 'nodeCidr'] as const) {
    const value = network[prop];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !isIpv4Cidr(value)) {
      report(`network.${prop}`, value, "an IPv4 CIDR with zero host bits, such as '10.42.0.0/16'");
    }
  }
  if (!Number.isInteger(network.apiServerPort) || network.apiServerPort < 1 || network.apiServerPort > 65535) {
    report('network.apiServerPort', network.apiServerPort, 'a TCP port between 1 and 65535');
  }
}

function checkSize(prop: string, size: unknown, report: Report): void {
  const s = size as { requests?: Record<string, unknown>; limits?: Record<string, unknown> } | undefined;
  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory'] as const) {
      const value = s?.[kind]?.[resource];
      const parse = resource === 'cpu' ? cpuMillis : memoryBytes;
      if (typeof value !== 'string' || parse(value) === undefined) {
        report(`${prop}.${kind}.${resource}`, value, resource === 'cpu' ? CPU_FORMAT_HINT : MEMORY_FORMAT_HINT);
      } else if (parse(value) === 0 && resource === 'memory') {
        report(`${prop}.${kind}.${resource}`, value, 'a memory quantity above zero');
      }
    }
  }
  for (const resource of ['cpu', 'memory'] as const) {
    const parse = resource === 'cpu' ? cpuMillis : memoryBytes;
    const request = parse(String(s?.requests?.[resource]));
    const limit = parse(String(s?.limits?.[resource]));
    if (request !== undefined && limit !== undefined && request > limit) {
      report(`${prop}.requests.${resource}`, s?.requests?.[resource], `at most the limit (${describe(s?.limits?.[resource])})`);
    }
  }
}

function checkComponents(config: PotatoStackConfig, report: Report): void {
  for (const name of COMPONENT_NAMES) {
    const component = config.components[name];
    if (typeof component.enabled !== 'boolean') report(`components.${name}.enabled`, component.enabled, 'true or false');
    const known = Object.keys(COMPONENTS[name].containers);
    for (const [container, size] of Object.entries(component.containers)) {
      if (!known.includes(container)) {
        report(`components.${name}.containers.${container}`, container, `one of the component's containers: ${known.join(', ')}`);
        continue;
      }
      checkSize(`components.${name}.containers.${container}`, size, report);
    }
  }
  for (const [dependent, dependency] of COMPONENT_DEPENDENCIES) {
    if (config.components[dependent].enabled && !config.components[dependency].enabled) {
      report(`components.${dependency}.enabled`, false, `true while components.${dependent}.enabled is true (${dependent} needs ${dependency})`);
    }
  }
  if (config.components.flux.enabled !== config.gitops.flux.enabled) {
    report('components.flux.enabled', config.components.flux.enabled, `${config.gitops.flux.enabled} (it follows gitops.flux.enabled; change that instead)`);
  }
  for (const [mode, component] of Object.entries(INGRESS_COMPONENTS)) {
    const expected = config.ingress.mode === mode;
    if (config.components[component].enabled !== expected) {
      report(`components.${component}.enabled`, config.components[component].enabled, `${expected} (it follows ingress.mode '${config.ingress.mode}'; change ingress.mode instead)`);
    }
  }
}

function checkImages(config: PotatoStackConfig, report: Report): void {
  for (const [name, reference] of Object.entries(config.images)) {
    if (typeof reference !== 'string' || !IMAGE_REFERENCE_PATTERN.test(reference)) {
      report(`images.${name}`, reference, "a full reference with an exact tag, such as 'docker.io/library/mariadb:10.11.14'");
      continue;
    }
    const tag = reference.replace(/@sha256:.*$/, '').split(':').pop() as string;
    if (FLOATING_TAGS.includes(tag.toLowerCase())) {
      report(`images.${name}`, reference, `an exact version tag; '${tag}' moves and IfNotPresent would keep a stale image`);
    }
  }
}

function checkNode(config: PotatoStackConfig, report: Report): void {
  const { node } = config;
  for (const prop of ['memTotal', 'evictionHard', 'osReserved', 'k3sServer', 'containerd', 'shimPerPod'] as const) {
    if (typeof node[prop] !== 'string' || memoryBytes(node[prop]) === undefined) report(`node.${prop}`, node[prop], MEMORY_FORMAT_HINT);
  }
  if (typeof node.metricsServer !== 'boolean') report('node.metricsServer', node.metricsServer, 'true or false');
  if (typeof node.zram.enabled !== 'boolean') report('node.zram.enabled', node.zram.enabled, 'true or false');
  if (typeof node.zram.sizePercent !== 'number' || !(node.zram.sizePercent >= 10 && node.zram.sizePercent <= 100)) {
    report('node.zram.sizePercent', node.zram.sizePercent, 'a percentage of MemTotal from 10 to 100');
  }
  if (!['zstd', 'lz4', 'lzo-rle'].includes(node.zram.algorithm)) report('node.zram.algorithm', node.zram.algorithm, "one of 'zstd', 'lz4', 'lzo-rle'");
  if (typeof node.zram.compressionRatio !== 'number' || !(node.zram.compressionRatio >= 1 && node.zram.compressionRatio <= 4)) {
    report('node.zram.compressionRatio', node.zram.compressionRatio, 'a ratio from 1 (no gain) to 4');
  }
  if (!Number.isInteger(node.concurrentPeaks) || node.concurrentPeaks < 1) {
    report('node.concurrentPeaks', node.concurrentPeaks, 'a whole number of at least 1');
  }
}

/** Hours of a Prometheus-style duration in whole hours, days or weeks (`30d`), or undefined. */
export function durationHours(value: string): number | undefined {
  const match = /^([0-9]+)(h|d|w)$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * { h: 1, d: 24, w: 168 }[match[2] as 'h' | 'd' | 'w'];
}

function checkMonitoring(config: PotatoStackConfig, report: Report): void {
  const { monitoring } = config;
  if (typeof monitoring.grafanaAdminSecret !== 'string' || !DNS_LABEL.test(monitoring.grafanaAdminSecret)) {
    report('monitoring.grafanaAdminSecret', monitoring.grafanaAdminSecret, 'a Secret name (lowercase letters, digits and dashes)');
  }
  const hours = typeof monitoring.lokiRetention === 'string' ? durationHours(monitoring.lokiRetention) : undefined;
  if (hours === undefined || hours < 24 || hours % 24 !== 0) {
    // Loki deletes whole index periods (24h), so shorter or fractional retention is not honoured.
    report('monitoring.lokiRetention', monitoring.lokiRetention, "a duration of whole days such as '30d', '4w' or '720h' (at least 24h, a multiple of 24h)");
  }
}

/** Every problem of a fully resolved config, each naming the prop, the value and what is allowed. */
export function validateConfig(config: PotatoStackConfig): string[] {
  const problems: string[] = [];
  const report: Report = (prop, value, allowed) => problems.push(`${prop}: ${describe(value)} is not allowed; expected ${allowed}`);
  checkShapes(DEFAULT_CONFIG, config, '', report);
  // The specific checks below assume the default's types.
  if (problems.length > 0) return problems;
  if (typeof config.domain !== 'string' || !DNS_NAME.test(config.domain) || !config.domain.includes('.')) {
    report('domain', config.domain, "a lowercase DNS domain with at least two labels, such as 'potato.lan'");
  }
  if (typeof config.timezone !== 'string' || !isTimeZone(config.timezone)) {
    report('timezone', config.timezone, "an IANA time zone such as 'Europe/Berlin' or 'UTC'");
  }
  if (!['traefik', 'nginx-proxy-manager'].includes(config.ingress.mode)) {
    report('ingress.mode', config.ingress.mode, "'traefik' or 'nginx-proxy-manager'");
  }
  if (typeof config.ingress.tlsSecretName !== 'string' || !DNS_LABEL.test(config.ingress.tlsSecretName)) {
    report('ingress.tlsSecretName', config.ingress.tlsSecretName, 'a Secret name (lowercase letters, digits and dashes)');
  }
  checkTraefikChart(config, report);
  checkStorage(config, report);
  checkNetwork(config, report);
  checkNode(config, report);
  checkMonitoring(config, report);
  checkPrometheusAndAlerts(config, report);
  checkManagement(config.management, report);
  checkComponents(config, report);
  checkImages(config, report);
  checkVpn(config, report);
  checkKopia(config.kopia, report, [config.storage.mainPath, config.storage.cachePath]);
  checkNextcloud(config.nextcloud, report);
  checkPostgres(config, report);
  checkGitOps(config.gitops, report);
  return problems;
}
