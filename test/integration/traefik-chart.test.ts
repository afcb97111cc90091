/**
 * k3s's bundled Traefik is configured by the values the stack synthesizes into the
 * `kube-system/traefik` HelmChartConfig. Helm merges them into the chart k3s ships, and k3s's
 * packaged charts have no values schema: a key in the wrong place is ignored without a word.
 * So every chart in ../shared/charts is rendered here by real Helm with exactly the values
 * synthesized for it (dist/ for the default `ingress.traefikChart`, a fresh synth for the other
 * majors), and the rendered Traefik Deployment is checked for what the stack relies on; the
 * rendered objects then go through the suite's real kube-apiserver (server-side dry run). The
 * proof cases feed each chart values meant for another one and show the checks fail.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse, stringify } from 'yaml';
import { TRAEFIK_VALUES_FILE, PUBLISHED_SSH_PORT } from '../../lib/apps/traefik';
import {
  DEFAULT_TRAEFIK_CHART,
  SUPPORTED_TRAEFIK_CHART_MAJORS,
  TRAEFIK_CHART_ANNOTATION,
  majorsOfGeneration,
  parseTraefikChart,
  resolveConfig,
  valuesGenerationOfMajor,
  type PotatoStackOverrides,
  type TraefikChartMajor,
} from '../../lib/config';
import { synthesize } from '../../lib/stack';
import { overrides } from '../../stack.config';
import { RunningControlPlane, startControlPlane } from './support/control-plane';
import { chartCrds, chartDefaults, chartMetadata, helmTemplate, helmVersion, type Rendered } from './support/helm';
import { Kube, KubeObject, loadManifests, rejection } from './support/kube';
import { ROOT, sharedDir } from './support/tools';

const DIST = path.join(ROOT, 'dist');
const CHART_DIR = path.join(sharedDir(), 'charts');
const config = resolveConfig(overrides);

if (!fs.existsSync(CHART_DIR)) {
  throw new Error(`chart directory ${CHART_DIR} is missing: the Traefik charts k3s bundles come from shared/charts (set POTATO_SHARED_DIR to the folder holding charts/)`);
}

interface Chart {
  readonly file: string;
  readonly version: string;
  readonly appVersion: string;
  readonly major: number;
}

/** Every Traefik chart in shared/charts, oldest first; the version is the chart's own (Chart.yaml). */
const CHARTS: Chart[] = fs
  .readdirSync(CHART_DIR)
  .filter((f) => f.endsWith('.tgz'))
  .map((f) => {
    const file = path.join(CHART_DIR, f);
    const meta = chartMetadata(file);
    const parsed = parseTraefikChart(meta.version);
    if (meta.name !== 'traefik' || !parsed) throw new Error(`${file} is not a Traefik chart (name ${meta.name}, version ${meta.version})`);
    return { file, version: meta.version, appVersion: meta.appVersion, major: parsed.major };
  })
  .sort((a, b) => a.major - b.major || a.version.localeCompare(b.version));
const SERVED = CHARTS.filter((c) => valuesGenerationOfMajor(c.major) !== undefined);
const NOT_SERVED = CHARTS.filter((c) => valuesGenerationOfMajor(c.major) === undefined);

interface Synthesized {
  /** The HelmChartConfig's valuesContent, as synthesized. */
  readonly valuesContent: string;
  readonly values: any;
  readonly objects: KubeObject[];
}

function fromObjects(objects: KubeObject[], where: string): Synthesized {
  const chartConfig = objects.find((o) => o.kind === 'HelmChartConfig' && o.metadata.name === 'traefik' && o.metadata.namespace === 'kube-system');
  if (!chartConfig) throw new Error(`${where} has no HelmChartConfig kube-system/traefik`);
  return { valuesContent: chartConfig.spec.valuesContent, values: parse(chartConfig.spec.valuesContent), objects };
}

const DIST_SYNTH = fromObjects(loadManifests(DIST).map((m) => m.object), 'dist/');
const DIST_MAJOR = Number(DIST_SYNTH.objects.find((o) => o.kind === 'HelmChartConfig')!.metadata.annotations?.[TRAEFIK_CHART_ANNOTATION]);
const synthCache = new Map<number, Synthesized>();

/**
 * What the stack synthesizes for a chart major: dist/ itself for the configured one, otherwise a
 * synth of the same config with `ingress.traefikChart` set to that major.
 */
function synthesizedFor(major: number): Synthesized {
  if (major === DIST_MAJOR) return DIST_SYNTH;
  const cached = synthCache.get(major);
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `potato-traefik-${major}-`));
  const withMajor: PotatoStackOverrides = { ...overrides, ingress: { ...overrides.ingress, traefikChart: major as TraefikChartMajor } };
  synthesize(resolveConfig(withMajor), dir);
  const result = fromObjects(loadManifests(dir).map((m) => m.object), `the synth for chart ${major}`);
  synthCache.set(major, result);
  return result;
}

/** Traefik reads flag names case-insensitively; values are compared exactly. */
function argsOf(objects: KubeObject[]): Map<string, string[]> {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'traefik');
  const container = deployment?.spec.template.spec.containers.find((c: any) => c.name === 'traefik');
  const args = new Map<string, string[]>();
  for (const arg of (container?.args ?? []) as string[]) {
    const [flag, ...value] = arg.split('=');
    const key = flag.toLowerCase();
    args.set(key, [...(args.get(key) ?? []), value.length > 0 ? value.join('=') : 'true']);
  }
  return args;
}

/** The access-log fields the stack keeps, from helm-values/traefik.yaml (chart 41's keys). */
const KEPT_FIELDS = Object.keys(parse(fs.readFileSync(TRAEFIK_VALUES_FILE, 'utf8')).accessLog.fields.names);

/**
 * Everything the stack relies on in the rendered Traefik: one line per thing missing or wrong,
 * empty when all is there. Expected numbers come from the synthesized objects and the config.
 */
function renderedProblems(rendered: KubeObject[], synth: Synthesized): string[] {
  const problems: string[] = [];
  const args = argsOf(rendered);
  const expectArg = (flag: string, value: string, what: string) => {
    const found = args.get(flag.toLowerCase());
    if (!found?.includes(value)) problems.push(`${what}: no ${flag}=${value}${found ? ` (found ${found.join(', ')})` : ''}`);
  };
  const deployment = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'traefik');
  const service = rendered.find((o) => o.kind === 'Service' && o.metadata.name === 'traefik');
  if (!deployment || !service) return [`no Deployment and Service named traefik in the rendered objects (${rendered.map((o) => o.kind).join(', ')})`];
  const servicePort = (name: string) => service.spec.ports.find((p: any) => p.name === name);

  // HTTP -> HTTPS: the redirect targets the port the Service publishes for websecure
  const websecure = servicePort('websecure');
  expectArg('--entryPoints.web.http.redirections.entryPoint.to', `:${websecure?.port}`, 'HTTP->HTTPS redirect');
  expectArg('--entryPoints.web.http.redirections.entryPoint.scheme', 'https', 'HTTP->HTTPS redirect');
  expectArg('--entryPoints.web.http.redirections.entryPoint.permanent', 'true', 'HTTP->HTTPS redirect');
  expectArg('--entryPoints.websecure.http.tls', 'true', 'TLS on websecure');
  const store = rendered.find((o) => o.kind === 'TLSStore' && o.metadata.name === 'default');
  if (store?.spec?.defaultCertificate?.secretName !== config.ingress.tlsSecretName) {
    problems.push(`default certificate: TLSStore default does not serve Secret ${config.ingress.tlsSecretName} (${JSON.stringify(store?.spec)})`);
  }

  // metrics: own entrypoint, scraped through the pod annotations, not on the Service
  const metricsPort = synth.values.ports.metrics.port;
  expectArg('--entryPoints.metrics.address', `:${metricsPort}/tcp`, 'metrics entrypoint');
  expectArg('--metrics.prometheus.entryPoint', 'metrics', 'metrics entrypoint');
  const annotations = deployment.spec.template.metadata.annotations ?? {};
  if (annotations['prometheus.io/port'] !== String(metricsPort) || annotations['prometheus.io/scrape'] !== 'true') {
    problems.push(`metrics entrypoint: pod annotations do not point Prometheus at ${metricsPort} (${JSON.stringify(annotations)})`);
  }
  if (service.spec.ports.some((p: any) => p.port === metricsPort || p.name === 'metrics')) problems.push('metrics entrypoint: published on the Service');

  // SSH: the entrypoint Gitea's IngressRouteTCP names, published on the node's port
  const route = synth.objects.find((o) => o.kind === 'IngressRouteTCP');
  for (const entryPoint of (route?.spec.entryPoints ?? []) as string[]) {
    expectArg(`--entryPoints.${entryPoint}.address`, `:${PUBLISHED_SSH_PORT}/tcp`, `SSH entrypoint of IngressRouteTCP ${route!.metadata.name}`);
    const published = servicePort(entryPoint);
    if (published?.port !== PUBLISHED_SSH_PORT || published?.protocol !== 'TCP') {
      problems.push(`SSH entrypoint: the Service does not publish ${entryPoint} on TCP ${PUBLISHED_SSH_PORT} (${JSON.stringify(published)})`);
    }
  }
  if (service.spec.externalTrafficPolicy !== 'Local') problems.push(`client addresses: Service externalTrafficPolicy is ${service.spec.externalTrafficPolicy}, not Local`);

  // JSON logs, and access logs reduced to the kept fields without headers
  expectArg('--log.format', 'json', 'JSON logs');
  expectArg('--accesslog', 'true', 'access log');
  expectArg('--accesslog.format', 'json', 'access log');
  expectArg('--accesslog.fields.defaultmode', 'drop', 'access-log field filter');
  expectArg('--accesslog.fields.headers.defaultmode', 'drop', 'access-log field filter');
  for (const field of KEPT_FIELDS) expectArg(`--accesslog.fields.names.${field}`, 'keep', 'access-log field filter');

  // no calls home from the board
  expectArg('--global.checkNewVersion', 'false', 'no version check');
  if ((args.get('--global.sendanonymoususage') ?? []).some((v) => v !== 'false')) problems.push('anonymous usage statistics are switched on');

  // resources: the component's size from the config
  const container = deployment.spec.template.spec.containers.find((c: any) => c.name === 'traefik');
  const size = config.components.traefik.containers.traefik;
  if (!isDeepStrictEqual(container?.resources, { requests: size.requests, limits: size.limits })) {
    problems.push(`resources: ${JSON.stringify(container?.resources)} instead of ${JSON.stringify(size)}`);
  }
  return problems;
}

/** Every leaf path of a values tree. */
function leafPaths(values: unknown, prefix: string[] = []): string[][] {
  if (typeof values !== 'object' || values === null || Array.isArray(values) || Object.keys(values).length === 0) return [prefix];
  return Object.entries(values).flatMap(([key, value]) => leafPaths(value, [...prefix, key]));
}

/** Maps the chart copies whole into an object although their default is not empty (`service.spec` defaults to `type: LoadBalancer`). */
const PASSED_ON_WHOLE = ['service.spec'];

/**
 * Whether the chart's default values have a place for a path. A default of `{}` or null is a
 * map the chart passes on whole (annotations, resources, field names), so anything below it
 * counts; a port the defaults do not have (ssh) is read with the keys every port has.
 */
function chartReads(defaults: any, keys: string[]): boolean {
  if (PASSED_ON_WHOLE.some((prefix) => keys.join('.').startsWith(`${prefix}.`))) return true;
  let current = defaults;
  for (const key of keys) {
    if (current === null || (typeof current === 'object' && !Array.isArray(current) && Object.keys(current).length === 0)) return true;
    if (typeof current !== 'object' || Array.isArray(current) || !(key in current)) {
      if (keys[0] === 'ports' && keys.length > 2 && !(keys[1] in defaults.ports)) {
        return Object.values(defaults.ports).some((port) => chartReads(port, keys.slice(2)));
      }
      return false;
    }
    current = current[key];
  }
  return true;
}

/** The leaves of the values that the chart has no place for, and so ignores. */
function ignoredKeys(values: unknown, defaults: unknown): string[] {
  return leafPaths(values)
    .filter((keys) => !chartReads(defaults, keys))
    .map((keys) => keys.join('.'));
}

/**
 * Keys the stack sets that a supported chart ignores on purpose, with the reason: charts 34 and
 * 37 have no `api` values and always pass --api.dashboard=true (the dashboard then listens on the
 * pod's `traefik` entrypoint, which the Service does not publish and no route serves).
 */
const KNOWN_IGNORED: Readonly<Record<number, string[]>> = { 34: ['api.dashboard'], 37: ['api.dashboard'] };

let server: RunningControlPlane;
let kube: Kube;
let kubeVersion: string;
const renders = new Map<string, Rendered>();

function rendered(chart: Chart): Rendered {
  const cached = renders.get(chart.file);
  if (cached) return cached;
  const started = Date.now();
  const result = helmTemplate(chart.file, synthesizedFor(chart.major).valuesContent, kubeVersion);
  console.log(`helm template ${path.basename(chart.file)} (Traefik ${chart.appVersion}) with the values for chart ${chart.major}: exit ${result.status}, ${result.objects.length} objects, ${Date.now() - started} ms`);
  renders.set(chart.file, result);
  return result;
}

/** CRDs for the custom kinds of the rendered objects: the chart's own crds/, else shared/crds, else another chart's crds/. */
function crdSources(chart: Chart): Array<{ crd: KubeObject; from: string }> {
  const shared = path.join(sharedDir(), 'crds');
  const fromShared = fs.existsSync(shared) ? loadManifests(shared).map((m) => m.object).filter((o) => o.kind === 'CustomResourceDefinition') : [];
  const others = CHARTS.filter((c) => c !== chart).reverse();
  return [
    ...chartCrds(chart.file).map((crd) => ({ crd, from: `${path.basename(chart.file)} crds/` })),
    ...fromShared.map((crd) => ({ crd, from: 'shared/crds' })),
    ...others.flatMap((c) => chartCrds(c.file).map((crd) => ({ crd, from: `${path.basename(c.file)} crds/` }))),
  ];
}

const installed = new Set<string>();

async function installCrdsFor(chart: Chart, objects: KubeObject[]): Promise<void> {
  const isCustom = (group: string) => group.includes('.') && !group.endsWith('.k8s.io');
  const needed = [...new Set(objects.filter((o) => o.apiVersion.includes('/') && isCustom(o.apiVersion.split('/')[0])).map((o) => `${o.apiVersion.split('/')[0]}/${o.kind}`))];
  for (const kind of needed.filter((k) => !installed.has(k))) {
    const source = crdSources(chart).find(({ crd }) => `${crd.spec.group}/${crd.spec.names.kind}` === kind);
    if (!source) throw new Error(`no CRD for ${kind} in ${path.basename(chart.file)}'s crds/, in shared/crds or in another chart's crds/`);
    await kube.installCrd(source.crd);
    installed.add(kind);
    console.log(`CRD for ${kind} (needed by chart ${chart.version}) installed from ${source.from}`);
  }
}

beforeAll(async () => {
  server = await startControlPlane();
  kube = await Kube.connect(server.kubeconfig);
  kubeVersion = (await kube.request('GET', '/version')).body.gitVersion;
  console.log(`${helmVersion()}; kube-apiserver ${kubeVersion} ready in ${server.startupMs} ms; charts: ${CHARTS.map((c) => c.version).join(', ')}`);
});

afterAll(async () => {
  await server?.stop();
});

test('shared/charts holds Traefik charts, and dist/ carries values for the default chart', () => {
  expect(CHARTS.length).toBeGreaterThan(0);
  expect(DIST_MAJOR).toBe(config.ingress.traefikChart);
  expect(config.ingress.traefikChart).toBe(DEFAULT_TRAEFIK_CHART);
});

describe.each(SERVED.map((c) => [c.version, c] as const))('chart %s', (_version, chart) => {
  test('renders with the values the stack synthesizes for it', () => {
    const result = rendered(chart);
    expect(result.stderr.split('\n').filter((l) => /error/i.test(l))).toEqual([]);
    expect(result.status).toBe(0);
  });

  test('the rendered Traefik has the HTTPS redirect, TLS on websecure, metrics and SSH entrypoints, JSON logs with the field filter, its resources, no calls home', () => {
    expect(renderedProblems(rendered(chart).objects, synthesizedFor(chart.major))).toEqual([]);
  });

  test('every key the values set is one the chart reads (apart from the documented exceptions)', () => {
    expect(ignoredKeys(synthesizedFor(chart.major).values, chartDefaults(chart.file))).toEqual(KNOWN_IGNORED[chart.major] ?? []);
    // the one documented exception, as it shows in the arguments
    const dashboardOn = (argsOf(rendered(chart).objects).get('--api.dashboard') ?? []).includes('true');
    expect([chart.major, dashboardOn]).toEqual([chart.major, KNOWN_IGNORED[chart.major]?.includes('api.dashboard') ?? false]);
  });

  test('the rendered objects pass the real kube-apiserver (server-side apply, dry run, strict fields)', async () => {
    const { objects } = rendered(chart);
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'IngressClass', 'TLSStore']));
    await installCrdsFor(chart, objects);
    const failures: string[] = [];
    for (const object of objects) {
      const result = await kube.dryRunApply(object);
      if (result.status < 200 || result.status >= 300) failures.push(`${object.kind} ${object.metadata.name}: ${rejection(result)}`);
    }
    expect(failures).toEqual([]);
  });
});

test('a chart of shared/charts is served exactly when ingress.traefikChart accepts its major; synth refuses the others with the reason', () => {
  for (const chart of CHARTS) {
    const attempt = () => resolveConfig({ ...overrides, ingress: { ...overrides.ingress, traefikChart: chart.major as TraefikChartMajor } });
    if (SERVED.includes(chart)) expect(attempt().ingress.traefikChart).toBe(chart.major);
    else expect(attempt).toThrow(`ingress.traefikChart: ${chart.major} is not allowed`);
  }
  console.log(`served: ${SERVED.map((c) => c.version).join(', ') || 'none'}; not served: ${NOT_SERVED.map((c) => c.version).join(', ') || 'none'}`);
});

test('docs/ingress.md lists every chart of shared/charts, served or not', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'ingress.md'), 'utf8');
  for (const chart of CHARTS) expect([chart.version, doc.includes(chart.version)]).toEqual([chart.version, true]);
});

describe('proof: the checks catch what they must', () => {
  const chartOf = (major: number) => SERVED.find((c) => c.major === major);
  /** Values of one generation rendered against a chart of another, the way a k3s upgrade leaves them. */
  const mismatch = (valuesFor: number, chartMajor: number) => {
    const chart = chartOf(chartMajor);
    if (!chart) throw new Error(`shared/charts has no chart ${chartMajor} for this proof`);
    const synth = synthesizedFor(valuesFor);
    return { chart, synth, result: helmTemplate(chart.file, synth.valuesContent, kubeVersion) };
  };

  test('chart 37-38 values on chart 39: Helm accepts them, the redirect is gone, and both checks say so', () => {
    const { chart, synth, result } = mismatch(37, 39);
    expect(result.status).toBe(0);
    // TLS stays on only because chart 39's own default turns it on; the redirect has no default
    expect(renderedProblems(result.objects, synth)).toEqual([
      'HTTP->HTTPS redirect: no --entryPoints.web.http.redirections.entryPoint.to=:443',
      'HTTP->HTTPS redirect: no --entryPoints.web.http.redirections.entryPoint.scheme=https',
      'HTTP->HTTPS redirect: no --entryPoints.web.http.redirections.entryPoint.permanent=true',
    ]);
    expect(ignoredKeys(synth.values, chartDefaults(chart.file))).toEqual(expect.arrayContaining(['ports.web.redirections.entryPoint.to', 'ports.websecure.tls.enabled']));
  });

  test('chart 39-40 values on chart 41: Helm refuses them (the chart schema has no `logs`)', () => {
    const { result } = mismatch(39, 41);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/additional properties? 'logs' not allowed/);
  });

  test('chart 41 values on chart 39: Helm accepts them, JSON and access logs are gone, and both checks say so', () => {
    const { chart, synth, result } = mismatch(41, 39);
    expect(result.status).toBe(0);
    const problems = renderedProblems(result.objects, synth);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^JSON logs: no --log.format=json/), expect.stringMatching(/^access log: no --accesslog=true/)]));
    expect(ignoredKeys(synth.values, chartDefaults(chart.file))).toEqual(expect.arrayContaining(['log.format', 'accessLog.enabled']));
  });

  test("chart 37-38 values on chart 34: the chart's default globalArguments call home, and the check says so", () => {
    const { synth, result } = mismatch(37, 34);
    expect(result.status).toBe(0);
    expect(renderedProblems(result.objects, synth)).toEqual(expect.arrayContaining(['no version check: no --global.checkNewVersion=false (found true)', 'anonymous usage statistics are switched on']));
  });

  test('the server judges the rendered objects: an invalid memory quantity in the values is rejected', async () => {
    const chart = chartOf(39)!;
    const broken = synthesizedFor(39).values;
    const values = { ...broken, resources: { ...broken.resources, limits: { ...broken.resources.limits, memory: '128MiB' } } };
    const result = helmTemplate(chart.file, stringify(values), kubeVersion);
    expect(result.status).toBe(0); // no schema in k3s's chart: Helm passes it on
    const deployment = result.objects.find((o) => o.kind === 'Deployment')!;
    const verdict = await kube.dryRunApply(deployment);
    // server-side apply reports a field that cannot be converted as 500, with the cause
    expect([verdict.status >= 400, rejection(verdict)]).toEqual([true, expect.stringContaining('quantities must match the regular expression')]);
  });

  test('every generation the prop offers was rendered above with its own values', () => {
    const generations = [...new Set(SERVED.map((c) => valuesGenerationOfMajor(c.major)))];
    const offered = [...new Set(SUPPORTED_TRAEFIK_CHART_MAJORS.map((m) => valuesGenerationOfMajor(m)))];
    expect(generations.sort()).toEqual(offered.sort());
    console.log(`generations rendered: ${generations.map((g) => `${g} (charts ${majorsOfGeneration(g!).join('/')})`).join(', ')}`);
  });
});
