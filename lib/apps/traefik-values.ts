import { majorsOfGeneration, valuesGenerationOfMajor, type TraefikValuesGeneration } from '../config/traefik-chart';

/**
 * Rewrites Traefik chart values written in the keys of chart 41 (helm-values/traefik.yaml) into
 * the keys of an older chart k3s bundles. Each step undoes one breaking change of the chart's
 * values (see TraefikValuesGeneration). A key a step does not know is an error, never dropped:
 * k3s's packaged charts have no values schema, so a key left in the wrong place would be
 * ignored without a word.
 */

export type Values = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function noEquivalent(path: string, generation: TraefikValuesGeneration): never {
  throw new Error(
    `Traefik values: ${path} has no equivalent in the values of chart ${majorsOfGeneration(generation).join('/')}; ` +
      'leave it out of helm-values/traefik.yaml or teach lib/apps/traefik-values.ts how that chart writes it',
  );
}

/** Copies the listed keys that are set; any other key of `source` is reported. */
function copyKnown(source: Values, known: readonly string[], path: string, generation: TraefikValuesGeneration): Values {
  const result: Values = {};
  for (const [key, value] of Object.entries(source)) {
    if (!known.includes(key)) noEquivalent(`${path}.${key}`, generation);
    result[key] = value;
  }
  return result;
}

/** Keys of `log` that charts 34-40 read under `logs.general` with the same name. */
const LOG_KEYS = ['format', 'level', 'filePath', 'noColor'] as const;
/** Keys of `accessLog` that charts 34-40 read under `logs.access` with the same name. */
const ACCESS_LOG_KEYS = ['enabled', 'format', 'filePath', 'bufferingSize', 'timezone', 'addInternals'] as const;
/** Access-log filter keys: chart 41's camelCase names and the lowercase ones before it. */
const FILTER_KEYS: Readonly<Record<string, string>> = { statusCodes: 'statuscodes', retryAttempts: 'retryattempts', minDuration: 'minduration' };

/** `{ defaultMode, names }` of chart 41 as `{ defaultmode, names }`. */
function fieldMode(source: unknown, path: string, generation: TraefikValuesGeneration): Values {
  if (!isPlainObject(source)) return noEquivalent(path, generation);
  const result: Values = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'defaultMode') result.defaultmode = value;
    else if (key === 'names') result.names = value;
    else noEquivalent(`${path}.${key}`, generation);
  }
  return result;
}

/** Chart 41's `log` and `accessLog` as the `logs.general` and `logs.access` of charts 34-40. */
export function toLogsSection(values: Values, generation: TraefikValuesGeneration): Values {
  const { log, accessLog, ...rest } = values;
  if (log === undefined && accessLog === undefined) return values;
  if ('logs' in rest) noEquivalent('logs (next to log/accessLog)', generation);
  const logs: Values = {};
  if (log !== undefined) {
    if (!isPlainObject(log)) noEquivalent('log', generation);
    logs.general = copyKnown(log, LOG_KEYS, 'log', generation);
  }
  if (accessLog !== undefined) {
    if (!isPlainObject(accessLog)) noEquivalent('accessLog', generation);
    const { fields, filters, ...plain } = accessLog;
    const access = copyKnown(plain, ACCESS_LOG_KEYS, 'accessLog', generation);
    if (filters !== undefined) {
      if (!isPlainObject(filters)) noEquivalent('accessLog.filters', generation);
      access.filters = Object.fromEntries(
        Object.entries(filters).map(([key, value]) => [FILTER_KEYS[key] ?? noEquivalent(`accessLog.filters.${key}`, generation), value]),
      );
    }
    if (fields !== undefined) {
      if (!isPlainObject(fields)) noEquivalent('accessLog.fields', generation);
      const { headers, ...general } = fields;
      access.fields = {
        general: fieldMode(general, 'accessLog.fields', generation),
        ...(headers === undefined ? {} : { headers: fieldMode(headers, 'accessLog.fields.headers', generation) }),
      };
    }
    logs.access = access;
  }
  return { ...rest, logs };
}

/** Entrypoint options that charts 34-38 read directly under `ports.<name>`. */
const FLAT_ENTRYPOINT_HTTP_KEYS = ['redirections', 'tls'] as const;

/** Chart 39+'s `ports.<name>.http.{redirections,tls}` as the `ports.<name>.{redirections,tls}` of charts 34-38. */
export function toFlatEntryPoints(values: Values, generation: TraefikValuesGeneration): Values {
  if (!isPlainObject(values.ports)) return values;
  const ports: Values = {};
  for (const [name, port] of Object.entries(values.ports)) {
    if (!isPlainObject(port) || port.http === undefined) {
      ports[name] = port;
      continue;
    }
    const { http, ...rest } = port;
    if (!isPlainObject(http)) noEquivalent(`ports.${name}.http`, generation);
    for (const key of Object.keys(http)) {
      if (key in rest) noEquivalent(`ports.${name}.${key} (next to ports.${name}.http.${key})`, generation);
    }
    ports[name] = { ...rest, ...copyKnown(http, FLAT_ENTRYPOINT_HTTP_KEYS, `ports.${name}.http`, generation) };
  }
  return { ...values, ports };
}

/** `global` settings that chart 34 takes as command-line arguments, with their flag names. */
const GLOBAL_FLAGS: Readonly<Record<string, string>> = { checkNewVersion: '--global.checkNewVersion', sendAnonymousUsage: '--global.sendAnonymousUsage' };

/**
 * Chart 36+'s `global.checkNewVersion` / `global.sendAnonymousUsage` as chart 34's
 * `globalArguments`, which replaces the chart's default list (that one turns both on). Other
 * `global` keys (k3s sets `global.systemDefaultRegistry`) stay where they are.
 */
export function toGlobalArguments(values: Values, generation: TraefikValuesGeneration): Values {
  if (!isPlainObject(values.global)) return values;
  if ('globalArguments' in values) noEquivalent('globalArguments (next to global)', generation);
  const global: Values = {};
  const args: string[] = [];
  for (const [key, value] of Object.entries(values.global)) {
    if (key in GLOBAL_FLAGS) {
      if (typeof value !== 'boolean') noEquivalent(`global.${key} (not true or false)`, generation);
      args.push(`${GLOBAL_FLAGS[key]}=${value}`);
    } else if (key === 'systemDefaultRegistry') {
      global[key] = value;
    } else {
      noEquivalent(`global.${key}`, generation);
    }
  }
  const { global: _replaced, ...rest } = values;
  return { ...rest, ...(Object.keys(global).length > 0 ? { global } : {}), globalArguments: args };
}

/** The steps from chart 41's keys to each generation's, applied in order. */
const STEPS: Readonly<Record<TraefikValuesGeneration, ReadonlyArray<(values: Values, generation: TraefikValuesGeneration) => Values>>> = {
  '41': [],
  '39-40': [toLogsSection],
  '37-38': [toLogsSection, toFlatEntryPoints],
  '34': [toLogsSection, toFlatEntryPoints, toGlobalArguments],
};

/** Values in chart 41's keys rewritten for the Traefik chart of the given major. */
export function valuesForChart(values: Values, chartMajor: number): Values {
  const generation = valuesGenerationOfMajor(chartMajor);
  if (generation === undefined) throw new Error(`no Traefik values generation for chart ${chartMajor}`);
  return STEPS[generation].reduce((current, step) => step(current, generation), values);
}
