import type { PotatoStackConfig } from './types';
import type { Report } from './validate';

/**
 * Majors of the Traefik chart that k3s has bundled since it moved to Traefik v3 (k3s v1.32):
 * 34, then 37, 38, 39, 40 and 41 (k3s never shipped 35 or 36). docs/ingress.md maps them to
 * k3s releases.
 */
export const SUPPORTED_TRAEFIK_CHART_MAJORS = [34, 37, 38, 39, 40, 41] as const;
export type TraefikChartMajor = (typeof SUPPORTED_TRAEFIK_CHART_MAJORS)[number];

/**
 * Annotation of the synthesized `kube-system/traefik` HelmChartConfig naming the chart major its
 * values were written for (`ingress.traefikChart`), so a preflight can compare it with the
 * cluster's chart without the config at hand.
 */
export const TRAEFIK_CHART_ANNOTATION = 'potatostack.io/traefik-chart';

/** The chart major k3s v1.37 bundles (41.x, Traefik 3.7). */
export const DEFAULT_TRAEFIK_CHART: TraefikChartMajor = 41;

/**
 * A values generation: the charts of one generation read the stack's settings under the same
 * keys. Each boundary is a breaking change of the chart's values:
 * - 37 (chart 36.0.0): `global.checkNewVersion` / `global.sendAnonymousUsage` replace the
 *   `globalArguments` list;
 * - 39 (chart 39.0.0): an entrypoint's `redirections` and `tls` move under `ports.<name>.http`;
 * - 41 (chart 41.0.0): `logs.general` / `logs.access` become `log` / `accessLog`, with
 *   camelCase field and filter keys.
 */
export type TraefikValuesGeneration = '34' | '37-38' | '39-40' | '41';

const GENERATION_OF_MAJOR: Readonly<Record<TraefikChartMajor, TraefikValuesGeneration>> = {
  34: '34',
  37: '37-38',
  38: '37-38',
  39: '39-40',
  40: '39-40',
  41: '41',
};

/** Why a chart major the stack does not serve is refused, for the error messages. */
function unsupportedReason(major: number): string {
  if (major <= 27) {
    return `k3s's charts up to 27 run Traefik v2 (k3s v1.31 and older); the stack's Middlewares, TLSOptions and IngressRouteTCP are Traefik v3 objects and its values need chart 34 or later: upgrade k3s to v1.32 or later`;
  }
  if (major < 41) return `k3s never bundled chart ${major}, so the stack was not checked against it`;
  return `chart ${major} is newer than every chart the stack was checked against; its values may have changed again`;
}

const ALLOWED = `one of the Traefik chart majors k3s bundles: ${SUPPORTED_TRAEFIK_CHART_MAJORS.join(', ')} (the major of \`kubectl -n kube-system get helmchart traefik -o jsonpath='{.spec.chart}'\`)`;

/** The values generation of a supported chart major; undefined for any other number. */
export function valuesGenerationOfMajor(major: number): TraefikValuesGeneration | undefined {
  return (GENERATION_OF_MAJOR as Record<number, TraefikValuesGeneration>)[major];
}

/** Chart majors of one generation, for messages ("39-40"). */
export function majorsOfGeneration(generation: TraefikValuesGeneration): TraefikChartMajor[] {
  return SUPPORTED_TRAEFIK_CHART_MAJORS.filter((m) => GENERATION_OF_MAJOR[m] === generation);
}

/**
 * The version in a Traefik chart reference as k3s writes it: the HelmChart's `spec.chart` URL
 * (`https://%{KUBERNETES_API}%/static/charts/traefik-41.4.2+up41.4.0.tgz`), a file name, or a
 * bare version (`39.0.701+up39.0.7`, `41.3.0`). The major is the upstream chart's (`+upX`) when
 * k3s repackaged it. Undefined for anything else, the `traefik-crd` chart included.
 */
export function parseTraefikChart(chartUrlOrVersion: string): { version: string; major: number } | undefined {
  const name = chartUrlOrVersion.trim().split(/[/?#]/).filter(Boolean).pop() ?? '';
  const match = /^(?:traefik-)?v?([0-9]+)\.([0-9]+)\.([0-9]+)(?:-[0-9A-Za-z.-]+)?(?:\+up([0-9]+)\.[0-9]+\.[0-9]+)?(?:\.tgz)?$/.exec(name);
  if (!match) return undefined;
  const version = name.replace(/^traefik-/, '').replace(/\.tgz$/, '');
  return { version, major: Number(match[4] ?? match[1]) };
}

/**
 * The values generation a cluster's Traefik chart needs, read from its chart URL or version;
 * undefined when the chart is not one the stack serves (Traefik v2 charts, newer majors, or not a
 * Traefik chart reference at all).
 */
export function traefikChartGeneration(chartUrlOrVersion: string): TraefikValuesGeneration | undefined {
  const parsed = parseTraefikChart(chartUrlOrVersion);
  return parsed ? valuesGenerationOfMajor(parsed.major) : undefined;
}

/** Outcome of comparing the synthesized values with the cluster's chart. */
export interface TraefikChartFit {
  readonly fits: boolean;
  /** One sentence for the operator: what was found and, when it does not fit, what to do. */
  readonly message: string;
}

/**
 * Whether values synthesized for chart `synthesizedFor` (the `ingress.traefikChart` prop, also
 * carried by the HelmChartConfig's `potatostack.io/traefik-chart` annotation) fit the chart the
 * cluster bundles (`clusterChart`: the `kube-system/traefik` HelmChart's `spec.chart`). Charts of
 * one values generation are interchangeable; any other pairing drops settings or is refused.
 */
export function traefikValuesFit(synthesizedFor: number | string, clusterChart: string): TraefikChartFit {
  const wanted = valuesGenerationOfMajor(Number(synthesizedFor));
  if (wanted === undefined) {
    return { fits: false, message: `the manifests were synthesized for Traefik chart ${JSON.stringify(synthesizedFor)}, which is not ${ALLOWED}` };
  }
  const parsed = parseTraefikChart(clusterChart);
  if (!parsed) {
    return { fits: false, message: `the cluster's Traefik HelmChart names ${JSON.stringify(clusterChart)}, which is not a Traefik chart version; expected a URL ending in traefik-<version>.tgz` };
  }
  const found = valuesGenerationOfMajor(parsed.major);
  if (found === undefined) {
    return { fits: false, message: `the cluster bundles Traefik chart ${parsed.version}, which the stack does not serve: ${unsupportedReason(parsed.major)}` };
  }
  if (found !== wanted) {
    return {
      fits: false,
      message:
        `the cluster bundles Traefik chart ${parsed.version} (values generation ${found}), but the manifests carry values for chart ${synthesizedFor} ` +
        `(generation ${wanted}), which that chart ignores or refuses: set ingress.traefikChart to ${parsed.major} and synthesize again`,
    };
  }
  return { fits: true, message: `the cluster's Traefik chart ${parsed.version} reads the values synthesized for chart ${synthesizedFor} (generation ${found})` };
}

/** Checks `ingress.traefikChart`. */
export function checkTraefikChart(config: PotatoStackConfig, report: Report): void {
  const major = config.ingress.traefikChart;
  if (typeof major !== 'number' || !Number.isInteger(major)) {
    report('ingress.traefikChart', major, ALLOWED);
  } else if (valuesGenerationOfMajor(major) === undefined) {
    report('ingress.traefikChart', major, `${ALLOWED}; ${unsupportedReason(major)}`);
  }
}
