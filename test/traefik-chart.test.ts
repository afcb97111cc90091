import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ConfigError,
  DEFAULT_CONFIG,
  DEFAULT_TRAEFIK_CHART,
  SUPPORTED_TRAEFIK_CHART_MAJORS,
  type TraefikChartMajor,
  majorsOfGeneration,
  parseTraefikChart,
  resolveConfig,
  traefikChartGeneration,
  traefikValuesFit,
  valuesGenerationOfMajor,
} from '../lib/config';

/** Chart references as k3s writes them in the `kube-system/traefik` HelmChart. */
const url = (version: string) => `https://%{KUBERNETES_API}%/static/charts/traefik-${version}.tgz`;

describe('parseTraefikChart', () => {
  test.each([
    [url('34.2.1+up34.2.0'), '34.2.1+up34.2.0', 34],
    [url('39.0.701+up39.0.7'), '39.0.701+up39.0.7', 39],
    [url('40.1.4+up40.1.0'), '40.1.4+up40.1.0', 40],
    [url('41.4.2+up41.4.0'), '41.4.2+up41.4.0', 41],
    ['traefik-41.3.0.tgz', '41.3.0', 41],
    ['41.3.0', '41.3.0', 41],
    ['  v38.0.2 ', 'v38.0.2', 38],
    [url('27.0.201+up27.0.2'), '27.0.201+up27.0.2', 27],
    // k3s's version can run ahead of the upstream major it packages: the upstream one counts
    ['traefik-34.2.1+up37.1.0.tgz', '34.2.1+up37.1.0', 37],
  ])('%s -> %s (major %d)', (reference, version, major) => {
    expect(parseTraefikChart(reference)).toEqual({ version, major });
  });

  test.each(['https://%{KUBERNETES_API}%/static/charts/traefik.tgz', 'https://%{KUBERNETES_API}%/static/charts/traefik-crd-41.4.2+up41.4.0.tgz', 'traefik', '', 'latest', 'nginx-4.1.0.tgz'])(
    'not a Traefik chart version: %j',
    (reference) => {
      expect(parseTraefikChart(reference)).toBeUndefined();
    },
  );
});

describe('traefikChartGeneration', () => {
  test.each([
    ['34.2.1+up34.2.0', '34'],
    ['37.1.1+up37.1.0', '37-38'],
    ['38.0.201+up38.0.2', '37-38'],
    ['39.0.701+up39.0.7', '39-40'],
    ['40.1.3+up40.1.0', '39-40'],
    ['41.3.0', '41'],
    ['41.4.2+up41.4.0', '41'],
  ])('chart %s needs values generation %s', (version, generation) => {
    expect(traefikChartGeneration(url(version))).toBe(generation);
  });

  test.each(['27.0.201+up27.0.2', '25.0.3+up25.0.0', '35.4.0', '36.3.0', '42.0.0'])('chart %s is not served', (version) => {
    expect(traefikChartGeneration(url(version))).toBeUndefined();
  });

  test('every supported major has a generation, and the generations partition them', () => {
    const generations = SUPPORTED_TRAEFIK_CHART_MAJORS.map((m) => valuesGenerationOfMajor(m));
    expect(generations).not.toContain(undefined);
    const regrouped = [...new Set(generations)].flatMap((g) => majorsOfGeneration(g!));
    expect(regrouped.sort((a, b) => a - b)).toEqual([...SUPPORTED_TRAEFIK_CHART_MAJORS]);
  });
});

describe('traefikValuesFit', () => {
  test('values fit every chart of their generation', () => {
    expect(traefikValuesFit(39, url('40.1.4+up40.1.0'))).toEqual({ fits: true, message: expect.stringContaining('40.1.4+up40.1.0') });
    expect(traefikValuesFit('41', url('41.4.2+up41.4.0')).fits).toBe(true);
    expect(traefikValuesFit(37, url('38.0.201+up38.0.2')).fits).toBe(true);
  });

  test('values for another generation do not fit, and the message says what to set', () => {
    const result = traefikValuesFit(40, url('41.4.2+up41.4.0'));
    expect(result.fits).toBe(false);
    expect(result.message).toContain('41.4.2+up41.4.0');
    expect(result.message).toContain('set ingress.traefikChart to 41');
    const older = traefikValuesFit(41, url('39.0.701+up39.0.7'));
    expect(older).toEqual({ fits: false, message: expect.stringContaining('set ingress.traefikChart to 39') });
  });

  test('a cluster on Traefik v2 or on a chart newer than the stack knows is refused with the reason', () => {
    expect(traefikValuesFit(41, url('27.0.201+up27.0.2'))).toEqual({ fits: false, message: expect.stringContaining('upgrade k3s to v1.32') });
    expect(traefikValuesFit(41, url('42.0.0+up42.0.0'))).toEqual({ fits: false, message: expect.stringContaining('newer than every chart') });
  });

  test('an unreadable chart reference or a bad synthesized major is refused, never taken as a fit', () => {
    expect(traefikValuesFit(41, '')).toEqual({ fits: false, message: expect.stringContaining('not a Traefik chart version') });
    expect(traefikValuesFit(41, 'https://%{KUBERNETES_API}%/static/charts/traefik-crd-41.4.2+up41.4.0.tgz').fits).toBe(false);
    expect(traefikValuesFit('abc', url('41.4.2+up41.4.0'))).toEqual({ fits: false, message: expect.stringContaining('"abc"') });
  });
});

describe('ingress.traefikChart', () => {
  test('defaults to 41, the chart k3s v1.37 bundles', () => {
    expect(DEFAULT_TRAEFIK_CHART).toBe(41);
    expect(DEFAULT_CONFIG.ingress.traefikChart).toBe(41);
  });

  test.each([...SUPPORTED_TRAEFIK_CHART_MAJORS])('accepts %d', (major) => {
    expect(resolveConfig({ ingress: { traefikChart: major } }).ingress.traefikChart).toBe(major);
  });

  test.each([
    [27, 'upgrade k3s to v1.32 or later'],
    [36, 'k3s never bundled chart 36'],
    [30, 'k3s never bundled chart 30'],
    [42, 'newer than every chart'],
    [40.5, 'one of the Traefik chart majors'],
  ])('refuses %j naming the prop, the value and what is allowed', (value, reason) => {
    let error: unknown;
    try {
      resolveConfig({ ingress: { traefikChart: value as TraefikChartMajor } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^ingress\\.traefikChart: ${JSON.stringify(value).replace(/"/g, "'").replace('.', '\\.')} is not allowed; expected one of the Traefik chart majors k3s bundles: 34, 37, 38, 39, 40, 41`));
    expect(problems[0]).toContain(reason);
  });

  test('refuses "41" (a string) through the type check of every prop', () => {
    expect(() => resolveConfig({ ingress: { traefikChart: '41' as unknown as TraefikChartMajor } })).toThrow(/ingress\.traefikChart: '41' is not allowed; expected a number$/m);
  });
});

describe('docs/ingress.md', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'ingress.md'), 'utf8');

  test('its table of supported charts is exactly the majors the prop accepts, each with its generation', () => {
    const section = doc.slice(doc.indexOf('## Supported Traefik charts'), doc.indexOf('\n## ', doc.indexOf('## Supported Traefik charts') + 1));
    const rows = section
      .split('\n')
      .map((line) => /^\| (\d+) \| ([\d-]+) \|/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [Number(m[1]), m[2]]);
    expect(rows).toEqual(SUPPORTED_TRAEFIK_CHART_MAJORS.map((major) => [major, valuesGenerationOfMajor(major)]));
  });

  test('states the default chart and the preflight command', () => {
    expect(doc).toContain(`The default is **${DEFAULT_TRAEFIK_CHART}**`);
    expect(doc).toContain("kubectl -n kube-system get helmchart traefik -o jsonpath='{.spec.chart}'");
  });
});
