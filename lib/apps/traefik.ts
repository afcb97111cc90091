import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { parse, stringify } from 'yaml';
import { HelmChartConfig } from '../../imports/k3s-helm-helmchartconfigs-helm.cattle.io';
import { IngressRouteTcp, IngressRouteTcpSpecRoutesServicesPort } from '../../imports/traefik-ingressroutetcps-traefik.io';
import { Middleware, MiddlewareSpec, MiddlewareSpecRateLimitPeriod } from '../../imports/traefik-middlewares-traefik.io';
import { TlsOption, TlsOptionSpec } from '../../imports/traefik-tlsoptions-traefik.io';
import { TRAEFIK_CHART_ANNOTATION, type PotatoStackConfig } from '../config';
import { COMPONENTS } from '../config/components';
import { appLabels } from '../constructs/labels';
import { PotatoChart } from '../constructs/chart';
import { SAMEORIGIN_HEADERS_MIDDLEWARE, TLS_OPTION, TRAEFIK_NAMESPACE, WEB_MIDDLEWARES } from '../constructs/web-ingress';
import { type Values, isPlainObject, valuesForChart } from './traefik-values';

/** Port of Traefik's Prometheus entrypoint on its pod (scraped through the pod annotations). */
export const TRAEFIK_METRICS_PORT = 9100;
/** Traefik entrypoint that carries Gitea's SSH. */
export const SSH_ENTRYPOINT = 'ssh';
/**
 * Port Gitea's SSH is published on, on the node (and inside the Traefik pod). Not 22: the
 * node's own sshd holds it. Gitea's clone URLs must show this port (its SSH_PORT setting).
 */
export const PUBLISHED_SSH_PORT = 2222;

/** HSTS max-age: one year, the minimum the browsers' preload list accepts. */
export const HSTS_SECONDS = 31_536_000;

/**
 * Requests per second per client address, and the burst above it. One Nextcloud page load
 * (scripts, styles, avatars, previews) fires 100-150 requests at once and a sync client a
 * steady few dozen a second: the burst absorbs page loads, the average still stops a runaway
 * script or a brute-force loop from saturating the board's four small cores.
 */
export const RATE_LIMIT = { average: 100, burst: 200 } as const;

/** Where the static part of Traefik's values lives (in the keys of chart 41). */
export const TRAEFIK_VALUES_FILE = path.join(__dirname, '..', '..', 'helm-values', 'traefik.yaml');

/** Deep merge of Helm values as Helm does it: maps merge key by key, anything else is replaced. */
export function mergeValues(base: Values, override: Values): Values {
  const result: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    result[key] = isPlainObject(result[key]) && isPlainObject(value) ? mergeValues(result[key] as Values, value) : value;
  }
  return result;
}

/** Client ranges the `lan-only` allow-list admits: the home LAN and the router's WireGuard clients. */
export function allowedClientRanges(config: PotatoStackConfig): string[] {
  return [...new Set([config.network.lanCidr, config.network.wireguardClientCidr])];
}

/**
 * The values k3s's Traefik chart gets: helm-values/traefik.yaml overlaid with what the config
 * decides, in the keys of the chart `ingress.traefikChart` names.
 */
export function traefikValues(config: PotatoStackConfig, staticValues: Values = parse(fs.readFileSync(TRAEFIK_VALUES_FILE, 'utf8')) ?? {}): Values {
  const size = config.components.traefik.containers.traefik;
  if (!size) throw new Error("components.traefik.containers has no size for container 'traefik'");
  const fromConfig: Values = {
    resources: { requests: { ...size.requests }, limits: { ...size.limits } },
    priorityClassName: COMPONENTS.traefik.priority,
    // The operator's certificate serves every host; Traefik's self-signed one is never used.
    tlsStore: { default: { defaultCertificate: { secretName: config.ingress.tlsSecretName } } },
    deployment: {
      podAnnotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(TRAEFIK_METRICS_PORT),
        'prometheus.io/path': '/metrics',
      },
    },
    ports: {
      metrics: { port: TRAEFIK_METRICS_PORT, exposedPort: TRAEFIK_METRICS_PORT },
      [SSH_ENTRYPOINT]: { port: PUBLISHED_SSH_PORT, exposedPort: PUBLISHED_SSH_PORT },
    },
  };
  return valuesForChart(mergeValues(staticValues, fromConfig), config.ingress.traefikChart);
}

/** Spec of the `security-headers` Middleware (and of its SAMEORIGIN variant). */
export function securityHeadersSpec(frameOptions: 'DENY' | 'SAMEORIGIN' = 'DENY'): MiddlewareSpec {
  return {
    headers: {
      stsSeconds: HSTS_SECONDS,
      stsIncludeSubdomains: true,
      stsPreload: true,
      forceStsHeader: true,
      contentTypeNosniff: true,
      ...(frameOptions === 'DENY' ? { frameDeny: true } : { customFrameOptionsValue: 'SAMEORIGIN' }),
      referrerPolicy: 'strict-origin-when-cross-origin',
      // browserXssFilter (X-XSS-Protection) is left out: browsers dropped the filter and the
      // header is deprecated.
    },
  };
}

/** Spec of the `rate-limit` Middleware. */
export function rateLimitSpec(): MiddlewareSpec {
  return { rateLimit: { average: RATE_LIMIT.average, burst: RATE_LIMIT.burst, period: MiddlewareSpecRateLimitPeriod.fromString('1s') } };
}

/**
 * Spec of the `lan-only` Middleware: the seed's VPN-only access. Traefik checks the TCP peer
 * address (no ipStrategy: X-Forwarded-For is not trusted), which is the real client because the
 * Service keeps it (externalTrafficPolicy Local). The pod CIDR is deliberately not listed: if
 * client addresses were ever rewritten to cluster addresses, the list fails closed instead of
 * admitting everyone.
 */
export function lanOnlySpec(config: PotatoStackConfig): MiddlewareSpec {
  return { ipAllowList: { sourceRange: allowedClientRanges(config) } };
}

/** TLS 1.3 only; no certificate for clients that send no or an unknown server name. */
export function tls13Spec(): TlsOptionSpec {
  return { minVersion: 'VersionTLS13', sniStrict: true };
}

/**
 * TLSOption names rendered with the TLS 1.3 spec: the one the Ingresses name, and `default`,
 * which Traefik applies to every TLS router without an explicit option and to handshakes for
 * names no router matches, so a scan of port 443 finds TLS 1.3 only.
 */
export const TLS_OPTION_NAMES = [TLS_OPTION, 'default'] as const;

/**
 * Everything that configures k3s's bundled Traefik: the HelmChartConfig with its values, the
 * Middlewares every web Ingress goes through, and the TLS 1.3 options, all in kube-system.
 */
export class Traefik extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const { config } = PotatoChart.of(this);
    const metadata = (name: string, role: string) => ({ name, namespace: TRAEFIK_NAMESPACE, labels: appLabels('traefik', role) });

    const specs: Record<(typeof WEB_MIDDLEWARES)[number], MiddlewareSpec> = {
      'lan-only': lanOnlySpec(config),
      'rate-limit': rateLimitSpec(),
      'security-headers': securityHeadersSpec(),
    };
    for (const name of WEB_MIDDLEWARES) {
      new Middleware(this, `middleware-${name}`, { metadata: metadata(name, 'middleware'), spec: specs[name] });
    }
    new Middleware(this, `middleware-${SAMEORIGIN_HEADERS_MIDDLEWARE}`, {
      metadata: metadata(SAMEORIGIN_HEADERS_MIDDLEWARE, 'middleware'),
      spec: securityHeadersSpec('SAMEORIGIN'),
    });
    for (const name of TLS_OPTION_NAMES) {
      new TlsOption(this, `tls-option-${name}`, { metadata: metadata(name, 'tls-option'), spec: tls13Spec() });
    }
    // k3s names its Traefik HelmChart `traefik`; a HelmChartConfig of the same name and
    // namespace overlays its values.
    new HelmChartConfig(this, 'helm-chart-config', {
      metadata: { ...metadata('traefik', 'ingress-controller'), annotations: { [TRAEFIK_CHART_ANNOTATION]: String(config.ingress.traefikChart) } },
      spec: { valuesContent: stringify(traefikValues(config)) },
    });
  }
}

export interface TcpRouteProps {
  /** IngressRouteTCP name. */
  readonly name: string;
  /** Namespace of the route and of its Service (cross-namespace references are off). */
  readonly namespace: string;
  readonly serviceName: string;
  readonly servicePort: number | string;
  /** @default the SSH entrypoint */
  readonly entryPoint?: string;
}

/**
 * A plain TCP route (no TLS, so HostSNI(`*`) is the only possible match) from a Traefik
 * entrypoint to a Service. It lives in the Service's namespace because the CRD provider
 * refuses cross-namespace references.
 */
export class TcpRoute extends Construct {
  constructor(scope: Construct, id: string, props: TcpRouteProps) {
    super(scope, id);
    const port =
      typeof props.servicePort === 'number'
        ? IngressRouteTcpSpecRoutesServicesPort.fromNumber(props.servicePort)
        : IngressRouteTcpSpecRoutesServicesPort.fromString(props.servicePort);
    new IngressRouteTcp(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: appLabels(props.serviceName, 'tcp-route') },
      spec: {
        entryPoints: [props.entryPoint ?? SSH_ENTRYPOINT],
        routes: [{ match: 'HostSNI(`*`)', services: [{ name: props.serviceName, port }] }],
      },
    });
  }
}
