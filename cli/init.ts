import * as fs from 'node:fs';
import * as path from 'node:path';
import { isIPv4 } from 'node:net';
import { ConfigError, DEFAULT_CONFIG, GLUETUN_PROVIDERS, resolveConfig, type PotatoStackOverrides } from '../lib/config';
import { ipv4ToNumber, numberToIpv4 } from '../lib/config/cidr';
import { parseTraefikChart, valuesGenerationOfMajor } from '../lib/config/traefik-chart';
import { traefikChartReference } from './preflight';
import { PACKAGE_NAME, existingUserRepositoryFiles, renderConfigFile, writeUserRepository } from '../lib/template/user-repository';
import { CliError, loadOverrides, projectAt, type Project } from './shared/project';
import { connect, print, projectOf, type GlobalOptions } from './shared/context';

/** A setting every board needs and `init` never leaves on its default unasked. */
export interface RequiredSetting {
  /** Dotted prop path in the config. */
  readonly prop: string;
  /** Command-line flag that sets it. */
  readonly flag: string;
  readonly question: string;
}

export const REQUIRED_SETTINGS: readonly RequiredSetting[] = [
  { prop: 'domain', flag: '--domain', question: 'DNS domain of the web UIs (cloud.<domain>, git.<domain>, ...)' },
  { prop: 'storage.nodeName', flag: '--node-name', question: 'Kubernetes name of the board with the disks (kubectl get nodes)' },
  { prop: 'node.memTotal', flag: '--mem-total', question: "the board's MemTotal (`grep MemTotal /proc/meminfo` there; its kB figure with Ki, e.g. 1996800Ki)" },
  { prop: 'network.lanCidr', flag: '--lan-cidr', question: 'your home LAN range (only it and WireGuard clients reach the web UIs)' },
  { prop: 'network.wireguardClientCidr', flag: '--wireguard-cidr', question: "address range your router's WireGuard server gives remote clients" },
  { prop: 'storage.mainPath', flag: '--main-path', question: 'mount point of the main HDD (below /mnt, /media or /srv)' },
  { prop: 'storage.cachePath', flag: '--cache-path', question: 'mount point of the cache HDD (below /mnt, /media or /srv)' },
  { prop: 'vpn.provider', flag: '--vpn-provider', question: `VPN provider (gluetun's name: ${GLUETUN_PROVIDERS.slice(0, 6).join(', ')}, ...)` },
];

export interface InitOptions extends GlobalOptions {
  readonly domain?: string;
  readonly nodeName?: string;
  readonly memTotal?: string;
  readonly lanCidr?: string;
  readonly wireguardCidr?: string;
  readonly mainPath?: string;
  readonly cachePath?: string;
  readonly vpnProvider?: string;
  readonly vpnType?: 'wireguard' | 'openvpn';
  /** Major of the Traefik chart k3s bundles (`ingress.traefikChart`). */
  readonly traefikChart?: string;
  readonly detect?: boolean;
  readonly input?: boolean;
  readonly force?: boolean;
  /** Folder of a new user repository to create (`init --new <dir>`) instead of updating the project in --dir. */
  readonly new?: string;
  /** What the new repository's package.json asks npm for. @default `^<this CLI's version>` */
  readonly packageSpec?: string;
  /** age public key for the new repository's .sops.yaml. @default none (no .sops.yaml) */
  readonly ageRecipient?: string;
}

const FLAG_VALUES: Record<string, (o: InitOptions) => string | undefined> = {
  domain: (o) => o.domain,
  'storage.nodeName': (o) => o.nodeName,
  'node.memTotal': (o) => o.memTotal,
  'network.lanCidr': (o) => o.lanCidr,
  'network.wireguardClientCidr': (o) => o.wireguardCidr,
  'storage.mainPath': (o) => o.mainPath,
  'storage.cachePath': (o) => o.cachePath,
  'vpn.provider': (o) => o.vpnProvider,
};

export function getProp(object: unknown, prop: string): unknown {
  return prop.split('.').reduce<any>((node, key) => (node === undefined ? undefined : node[key]), object);
}

/** A copy of the overrides with one prop set. */
export function setProp(overrides: PotatoStackOverrides, prop: string, value: unknown): PotatoStackOverrides {
  const copy = JSON.parse(JSON.stringify(overrides)) as Record<string, any>;
  const keys = prop.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] = typeof node[key] === 'object' && node[key] !== null ? node[key] : {};
  node[keys[keys.length - 1]] = value;
  return copy as PotatoStackOverrides;
}

/** The config's problems that concern one prop, or [] when it is fine in these overrides. */
export function problemsOf(overrides: PotatoStackOverrides, prop: string): string[] {
  try {
    resolveConfig(overrides);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.filter((p) => p.startsWith(`${prop}:`) || p.startsWith(`${prop}[`));
  }
}

/** The /24 around an address, the usual home LAN: `192.168.1.23` -> `192.168.1.0/24`. */
export function lanOf(address: string): string {
  return `${numberToIpv4(Math.floor(ipv4ToNumber(address) / 256) * 256)}/24`;
}

/**
 * What the cluster tells about the board: the node's name, MemTotal and LAN (when there is
 * exactly one node), and the major of the Traefik chart k3s bundles (when the stack serves it).
 */
export async function detect(options: GlobalOptions): Promise<Record<string, string>> {
  const kube = await connect(options);
  const found: Record<string, string> = {};
  const nodes = await kube.list('v1', 'Node');
  if (nodes.length === 1) {
    found['storage.nodeName'] = nodes[0].metadata.name;
    // The kubelet reports MemTotal as the node's memory capacity.
    const capacity = nodes[0].status?.capacity?.memory as string | undefined;
    if (capacity) found['node.memTotal'] = capacity;
    const address = (nodes[0].status?.addresses ?? []).find((a: any) => a.type === 'InternalIP' && isIPv4(a.address))?.address as string | undefined;
    if (address) found['network.lanCidr'] = lanOf(address);
  }
  const helmChart = await kube.get('helm.cattle.io/v1', 'HelmChart', 'traefik', 'kube-system').catch(() => undefined);
  const chart = helmChart ? parseTraefikChart(traefikChartReference(helmChart)) : undefined;
  if (chart && valuesGenerationOfMajor(chart.major)) found['ingress.traefikChart'] = String(chart.major);
  return found;
}

/** stack.config.ts for these overrides, importing the config type the way the project's layout resolves it. */
export function configFileFor(project: Project, overrides: PotatoStackOverrides): string {
  return renderConfigFile(overrides, project.layout === 'user-repository' ? PACKAGE_NAME : './lib/config');
}

/**
 * Decides each required setting: a flag wins, then (with a terminal) the operator's answer to a
 * question that offers the current, detected or default value, else the current or detected
 * value. A setting with none of these is an error: never the default without asking.
 */
export async function decideSettings(
  base: PotatoStackOverrides,
  options: InitOptions,
  detected: Record<string, string>,
  ask: ((setting: RequiredSetting, suggestion: string, validate: (value: string) => string | true) => Promise<string>) | undefined,
): Promise<{ overrides: PotatoStackOverrides; sources: Record<string, string> }> {
  let overrides = base;
  const sources: Record<string, string> = {};
  const missing: string[] = [];
  for (const setting of REQUIRED_SETTINGS) {
    const flag = FLAG_VALUES[setting.prop](options);
    const current = getProp(base, setting.prop) as string | undefined;
    const found = detected[setting.prop];
    let value: string | undefined;
    if (flag !== undefined) [value, sources[setting.prop]] = [flag, setting.flag];
    else if (ask) {
      const suggestion = current ?? found ?? String(getProp(DEFAULT_CONFIG, setting.prop));
      const validate = (answer: string) => problemsOf(setProp(overrides, setting.prop, answer.trim()), setting.prop)[0] ?? true;
      [value, sources[setting.prop]] = [(await ask(setting, suggestion, validate)).trim(), 'answer'];
    } else if (current !== undefined) [value, sources[setting.prop]] = [current, 'stack.config.ts'];
    else if (found !== undefined) [value, sources[setting.prop]] = [found, 'detected'];
    if (value === undefined) missing.push(`${setting.prop} (${setting.flag})`);
    else overrides = setProp(overrides, setting.prop, value);
  }
  if (options.vpnType) overrides = setProp(overrides, 'vpn.type', options.vpnType);
  // The values must match the Traefik chart k3s bundles: a flag, else what the config has, else what the cluster runs.
  const chart = options.traefikChart ?? (getProp(base, 'ingress.traefikChart') === undefined ? detected['ingress.traefikChart'] : undefined);
  if (chart !== undefined) {
    overrides = setProp(overrides, 'ingress.traefikChart', Number(chart));
    sources['ingress.traefikChart'] = options.traefikChart !== undefined ? '--traefik-chart' : 'detected';
  }
  if (missing.length > 0) {
    throw new CliError(`these settings have no value and would silently keep their defaults: ${missing.join(', ')}; pass the flags, or run init in a terminal to be asked`);
  }
  resolveConfig(overrides); // every problem at once, with the prop and what is allowed
  return { overrides, sources };
}

/** Asks the cluster (unless --no-detect) and prints what it found; a cluster that does not answer is only a note. */
async function detectIfAsked(options: InitOptions): Promise<Record<string, string>> {
  if (options.detect === false) return {};
  try {
    const detected = await detect(options);
    for (const [prop, value] of Object.entries(detected)) print(`detected ${prop}: ${value}`);
    return detected;
  } catch (error) {
    print(`no detection (${(error as Error).message.split('\n')[0]}); answer or pass the flags`);
    return {};
  }
}

/** The prompt for a required setting, when init runs in a terminal and may ask. */
function questioner(options: InitOptions) {
  if (options.input === false || !process.stdin.isTTY) return undefined;
  return async (setting: RequiredSetting, suggestion: string, validate: (value: string) => string | true) => {
    const { input } = await import('@inquirer/prompts');
    return input({ message: `${setting.question} [${setting.prop}]`, default: suggestion, validate });
  };
}

function printDecisions(overrides: PotatoStackOverrides, sources: Record<string, string>): void {
  for (const prop of [...REQUIRED_SETTINGS.map((s) => s.prop), 'ingress.traefikChart']) {
    if (sources[prop]) print(`${prop}: ${JSON.stringify(getProp(overrides, prop))} (${sources[prop]})`);
  }
}

/** An npm package name for the new repository: its folder's name where npm allows it. */
function repositoryName(dir: string): string | undefined {
  const name = path.basename(dir).toLowerCase();
  return /^[a-z0-9][a-z0-9._-]{0,213}$/.test(name) ? name : undefined;
}

/**
 * `potatostack init --new <dir>`: a user's own repository (writeUserRepository) that depends on
 * this package, with stack.config.ts holding the required settings. Existing files stay untouched
 * without --force; with it, each one that changes is kept as `<file>.bak`, and an existing
 * stack.config.ts's other overrides are kept.
 */
async function initNewRepository(options: InitOptions & { new: string }): Promise<number> {
  const dir = path.resolve(options.new);
  const repository = { packageSpec: options.packageSpec, ageRecipient: options.ageRecipient, name: repositoryName(dir) };
  let existing: string[];
  try {
    existing = existingUserRepositoryFiles(dir, repository);
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('ageRecipient: ')) throw new CliError(message.replace(/^ageRecipient: /, '--age-recipient: '));
    throw error;
  }
  if (existing.length > 0 && !options.force) throw new CliError(`${dir} already has ${existing.join(', ')}; pass --force to overwrite them (each changed file is kept as <file>.bak)`);
  const configFile = path.join(dir, 'stack.config.ts');
  const base = fs.existsSync(configFile) ? loadOverrides(projectAt(dir)) : {};
  const detected = await detectIfAsked(options);
  const { overrides, sources } = await decideSettings(base, options, detected, questioner(options));
  const written = writeUserRepository(dir, { ...repository, overrides, force: options.force });
  printDecisions(overrides, sources);
  print(`wrote ${dir}: ${written.join(', ')}`);
  print(`next: cd ${path.relative(process.cwd(), dir) || '.'} && git init && npm install && npm run synth, then npx potatostack preflight`);
  return 0;
}

/**
 * `potatostack init`: writes stack.config.ts of the project in --dir with the settings every board
 * needs, or with --new creates a user repository.
 */
export async function initCommand(options: InitOptions): Promise<number> {
  if (options.new !== undefined) return initNewRepository(options as InitOptions & { new: string });
  const project = projectOf(options);
  const exists = fs.existsSync(project.configFile);
  const base = exists ? loadOverrides(project) : {};
  if (exists && Object.keys(base).length > 0 && !options.force) {
    throw new CliError(`${project.configFile} already has overrides; pass --force to update it (they are kept, and the old file is saved as stack.config.ts.bak)`);
  }
  const detected = await detectIfAsked(options);
  const { overrides, sources } = await decideSettings(base, options, detected, questioner(options));
  if (exists) fs.copyFileSync(project.configFile, `${project.configFile}.bak`);
  fs.writeFileSync(project.configFile, configFileFor(project, overrides));
  printDecisions(overrides, sources);
  print(`wrote ${project.configFile}; next: npm run synth, then npx potatostack preflight`);
  if (project.layout === 'folder') print(`(${project.dir} is neither a clone of PotatoStack nor a repository depending on ${PACKAGE_NAME}; to start your own repository: npx ${PACKAGE_NAME} init --new <dir>)`);
  return 0;
}
