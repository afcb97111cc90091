import { INGRESS_COMPONENTS } from './components';
import { DEFAULT_CONFIG } from './defaults';
import { PROFILES, PROFILE_NAMES, ProfileName, ProfileSpec } from './profiles';
import type { PotatoStackConfig, PotatoStackOverrides } from './types';
import { ConfigError, describe, validateConfig } from './validate';

export * from './types';
export * from './components';
export * from './images';
export * from './image-evidence';
export * from './volumes';
export * from './zones';
export * from './vpn';
export * from './kopia';
export * from './nextcloud';
export * from './management';
export * from './postgres';
export * from './prometheus';
export * from './traefik-chart';
export * from './profiles';
export * from './priorities';
export * from './evidence';
export * from './gitops';
export { DEFAULT_CONFIG } from './defaults';
export { ConfigError } from './validate';

/** Maps whose keys the operator may extend; everywhere else an unknown key is a typo. */
const OPEN_MAPS = new Set<string>();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: unknown, override: unknown, path: string, problems: string[]): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base)) return override;
  if (!isPlainObject(override)) {
    problems.push(`${path}: ${describe(override)} is not allowed; expected an object of settings`);
    return base;
  }
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const childPath = path ? `${path}.${key}` : key;
    // containers maps are checked against each component's known containers by validateConfig
    const open = OPEN_MAPS.has(path) || path.endsWith('.containers');
    if (!(key in base) && !open) {
      problems.push(`${childPath}: unknown setting; expected one of: ${Object.keys(base).join(', ')}`);
      continue;
    }
    result[key] = merge(base[key], value, childPath, problems);
  }
  return result;
}

/**
 * Defaults overlaid with the operator's overrides, validated. Throws a ConfigError that lists
 * every bad prop with its value and what is allowed.
 */
export function resolveConfig(overrides: PotatoStackOverrides = {}): PotatoStackConfig {
  const problems: string[] = [];
  const profile = overrides.profile ?? DEFAULT_CONFIG.profile;
  if (!(profile in PROFILES)) {
    throw new ConfigError([`profile: ${describe(profile)} is not allowed; expected one of: ${PROFILE_NAMES.join(', ')}`]);
  }
  const withMode = applyGitOps(applyIngressMode(applyProfile(overrides, profile)));
  const merged = merge(DEFAULT_CONFIG, withMode, '', problems) as PotatoStackConfig;
  if (problems.length === 0) problems.push(...validateConfig(merged));
  if (problems.length > 0) throw new ConfigError(problems);
  return merged;
}

/** The profile's left-out components are off, and its metrics-server choice holds, unless the operator set them explicitly. */
function applyProfile(overrides: PotatoStackOverrides, profile: ProfileName): PotatoStackOverrides {
  const spec: ProfileSpec = PROFILES[profile];
  const components: Record<string, unknown> = { ...(overrides.components ?? {}) };
  for (const component of spec.leavesOut) {
    const current = (components[component] ?? {}) as Record<string, unknown>;
    if (current.enabled === undefined) components[component] = { ...current, enabled: false };
  }
  const node = { metricsServer: spec.metricsServer, ...(overrides.node ?? {}) };
  return { ...overrides, components, node } as PotatoStackOverrides;
}

/** The ingress components follow `ingress.mode` unless the operator set their flag explicitly. */
function applyIngressMode(overrides: PotatoStackOverrides): PotatoStackOverrides {
  const mode = overrides.ingress?.mode ?? DEFAULT_CONFIG.ingress.mode;
  const components: Record<string, unknown> = { ...(overrides.components ?? {}) };
  for (const [ingressMode, component] of Object.entries(INGRESS_COMPONENTS)) {
    const current = (components[component] ?? {}) as Record<string, unknown>;
    if (current.enabled === undefined) components[component] = { ...current, enabled: mode === ingressMode };
  }
  return { ...overrides, components } as PotatoStackOverrides;
}

/** The Flux component (its two controllers in the budget) follows `gitops.flux.enabled` unless set explicitly. */
function applyGitOps(overrides: PotatoStackOverrides): PotatoStackOverrides {
  const enabled = overrides.gitops?.flux?.enabled ?? DEFAULT_CONFIG.gitops.flux.enabled;
  const components: Record<string, unknown> = { ...(overrides.components ?? {}) };
  const current = (components.flux ?? {}) as Record<string, unknown>;
  if (current.enabled === undefined) components.flux = { ...current, enabled };
  return { ...overrides, components } as PotatoStackOverrides;
}

/** Names of the enabled components. */
export function isEnabled(config: PotatoStackConfig, component: keyof PotatoStackConfig['components']): boolean {
  return config.components[component].enabled;
}
export * from './web-uis';
