import * as fs from 'node:fs';
import { parse } from 'yaml';
import { TRAEFIK_VALUES_FILE, traefikValues } from '../lib/apps/traefik';
import { toFlatEntryPoints, toGlobalArguments, toLogsSection, valuesForChart } from '../lib/apps/traefik-values';
import { SUPPORTED_TRAEFIK_CHART_MAJORS, resolveConfig } from '../lib/config';

const file = parse(fs.readFileSync(TRAEFIK_VALUES_FILE, 'utf8'));

/** Every leaf of a values tree as `path = value`, for order-free comparisons. */
function leaves(values: unknown, prefix = ''): string[] {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return [`${prefix} = ${JSON.stringify(values)}`];
  return Object.entries(values).flatMap(([key, value]) => leaves(value, prefix ? `${prefix}.${key}` : key));
}

describe('valuesForChart', () => {
  test('chart 41 gets the file as written', () => {
    expect(valuesForChart(file, 41)).toEqual(file);
  });

  test('charts 39-40: log and accessLog become logs.general and logs.access with lowercase keys', () => {
    const values = valuesForChart(file, 39) as any;
    expect(values.log).toBeUndefined();
    expect(values.accessLog).toBeUndefined();
    expect(values.logs.general).toEqual(file.log);
    expect(values.logs.access).toEqual({
      enabled: true,
      format: 'json',
      fields: { general: { defaultmode: 'drop', names: file.accessLog.fields.names }, headers: { defaultmode: 'drop' } },
    });
    expect(values.ports).toEqual(file.ports);
    expect(valuesForChart(file, 40)).toEqual(values);
  });

  test("charts 37-38: also an entrypoint's redirections and tls directly under the port", () => {
    const values = valuesForChart(file, 37) as any;
    expect(values.ports.web).toEqual({ redirections: file.ports.web.http.redirections });
    expect(values.ports.websecure).toEqual({ http3: { enabled: false }, tls: { enabled: true } });
    expect(values.ports.metrics).toEqual(file.ports.metrics);
    expect(values.logs).toEqual((valuesForChart(file, 39) as any).logs);
    expect(values.global).toEqual(file.global);
    expect(valuesForChart(file, 38)).toEqual(values);
  });

  test('chart 34: also global settings as globalArguments that replace the chart default (which turns both on)', () => {
    const values = valuesForChart(file, 34) as any;
    expect(values.global).toBeUndefined();
    expect(values.globalArguments).toEqual(['--global.checkNewVersion=false', '--global.sendAnonymousUsage=false']);
    expect(values.ports).toEqual((valuesForChart(file, 37) as any).ports);
  });

  test.each([...SUPPORTED_TRAEFIK_CHART_MAJORS])('chart %d: nothing else of the file is lost or added', (major) => {
    const changedRoots = ['log', 'accessLog', 'logs', 'global', 'globalArguments', 'ports'];
    const keep = (values: object) => leaves(values).filter((l) => !changedRoots.includes(l.split(/[.= ]/)[0]));
    expect(keep(valuesForChart(file, major))).toEqual(keep(file));
    // ports only move http.* one level up
    const ports = leaves((valuesForChart(file, major) as any).ports).map((l) => l.replace(/^([^.]+)\.(redirections|tls)\./, '$1.http.$2.'));
    expect(ports.sort()).toEqual(leaves(file.ports).sort());
  });

  test('an unsupported major is refused', () => {
    expect(() => valuesForChart(file, 36)).toThrow('no Traefik values generation for chart 36');
  });

  test('the config-driven values go through the same rewrite', () => {
    const values = traefikValues(resolveConfig({ ingress: { traefikChart: 34 } })) as any;
    expect(values.resources.limits.memory).toBe(resolveConfig().components.traefik.containers.traefik.limits.memory);
    expect(values.ports.ssh.port).toBe(2222);
    expect(values.ports.web.redirections.entryPoint.to).toBe('websecure');
    expect(values.globalArguments).toContain('--global.checkNewVersion=false');
  });
});

describe('keys without an equivalent in the older charts are errors, never dropped', () => {
  test('toLogsSection: filters are renamed, unknown access-log keys refused', () => {
    const withFilters = toLogsSection({ accessLog: { filters: { statusCodes: '400-599', minDuration: '10ms', retryAttempts: true } } }, '39-40') as any;
    expect(withFilters.logs.access.filters).toEqual({ statuscodes: '400-599', minduration: '10ms', retryattempts: true });
    expect(() => toLogsSection({ accessLog: { dualOutput: true } }, '39-40')).toThrow('accessLog.dualOutput has no equivalent in the values of chart 39/40');
    expect(() => toLogsSection({ accessLog: { fields: { queryParameters: { defaultMode: 'drop' } } } }, '39-40')).toThrow('accessLog.fields.queryParameters');
    expect(() => toLogsSection({ accessLog: { filters: { statusCode: '500' } } }, '39-40')).toThrow('accessLog.filters.statusCode');
    expect(() => toLogsSection({ log: { otlp: { enabled: true } } }, '39-40')).toThrow('log.otlp');
    expect(() => toLogsSection({ log: { level: 'INFO' }, logs: {} }, '39-40')).toThrow('logs (next to log/accessLog)');
  });

  test('toFlatEntryPoints: only redirections and tls move; anything else under http is refused', () => {
    expect(toFlatEntryPoints({ ports: { web: { port: 8000, http: { tls: { enabled: true } } } } }, '37-38')).toEqual({ ports: { web: { port: 8000, tls: { enabled: true } } } });
    expect(() => toFlatEntryPoints({ ports: { web: { http: { middlewares: ['a'] } } } }, '37-38')).toThrow('ports.web.http.middlewares has no equivalent in the values of chart 37/38');
    expect(() => toFlatEntryPoints({ ports: { web: { tls: {}, http: { tls: {} } } } }, '37-38')).toThrow('ports.web.tls (next to ports.web.http.tls)');
  });

  test('toGlobalArguments: only the two known switches become arguments', () => {
    expect(toGlobalArguments({ global: { checkNewVersion: true, systemDefaultRegistry: 'r' } }, '34')).toEqual({ global: { systemDefaultRegistry: 'r' }, globalArguments: ['--global.checkNewVersion=true'] });
    expect(() => toGlobalArguments({ global: { azure: { enabled: true } } }, '34')).toThrow('global.azure has no equivalent in the values of chart 34');
    expect(() => toGlobalArguments({ global: { checkNewVersion: 'no' } }, '34')).toThrow('global.checkNewVersion (not true or false)');
  });
});
