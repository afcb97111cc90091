import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { PotatoStackConfig } from '../config';
import { PotatoChart } from './chart';
import { appLabels } from './labels';
import type { Peer } from './network-policy';

/** Namespace of k3s's bundled Traefik and of the proxy objects that configure it. */
export const TRAEFIK_NAMESPACE = 'kube-system';

/**
 * Traefik Middlewares every web UI goes through, in this order (created by the proxy chart
 * in kube-system): the IP allow-list first (VPN/LAN-only access), then rate limiting, then
 * the security headers.
 */
export const WEB_MIDDLEWARES = ['lan-only', 'rate-limit', 'security-headers'] as const;
/**
 * The security-headers variant with `X-Frame-Options: SAMEORIGIN` instead of DENY, for apps
 * that frame their own pages (Nextcloud's viewers and its setup check expect SAMEORIGIN).
 */
export const SAMEORIGIN_HEADERS_MIDDLEWARE = 'security-headers-sameorigin';
/** Traefik TLSOption with minimum TLS 1.3 (created by the proxy chart in kube-system). */
export const TLS_OPTION = 'tls13';

/** `<namespace>-<name>@kubernetescrd`: how Ingress annotations refer to Traefik CRD objects. */
export function traefikCrdRef(name: string): string {
  return `${TRAEFIK_NAMESPACE}-${name}@kubernetescrd`;
}

/** The pods that proxy web traffic to the apps, as a NetworkPolicy peer. */
export function ingressControllerPeer(config: PotatoStackConfig): Peer {
  return config.ingress.mode === 'traefik'
    ? { podLabels: { 'app.kubernetes.io/name': 'traefik' }, namespace: TRAEFIK_NAMESPACE }
    : { app: 'nginx-proxy-manager', namespace: 'dmz' };
}

/** `<subdomain>.<domain>`. */
export function hostFor(config: PotatoStackConfig, subdomain: string): string {
  return `${subdomain}.${config.domain}`;
}

export interface WebIngressProps {
  /** Ingress name, by convention the app's. */
  readonly name: string;
  readonly namespace: string;
  /** Host label under the domain: `cloud` gives `cloud.<domain>`. */
  readonly subdomain: string;
  readonly serviceName: string;
  readonly servicePort: string | number;
  /** Extra Traefik middlewares (in kube-system) after the standard ones. @default none */
  readonly extraMiddlewares?: readonly string[];
  /** `SAMEORIGIN` for apps that frame their own pages. @default 'DENY' */
  readonly frameOptions?: 'DENY' | 'SAMEORIGIN';
}

/**
 * An HTTPS Ingress through k3s's Traefik with the stack's middlewares and TLS 1.3 option.
 * Certificates come from Traefik's default TLS store (the configured TLS Secret), so no
 * Secret is needed per namespace. In nginx-proxy-manager mode it renders nothing: hosts are
 * configured in NPM itself.
 */
export class WebIngress extends Construct {
  readonly host: string;

  constructor(scope: Construct, id: string, props: WebIngressProps) {
    super(scope, id);
    const { config } = PotatoChart.of(this);
    this.host = hostFor(config, props.subdomain);
    if (config.ingress.mode !== 'traefik') return;
    const standard = WEB_MIDDLEWARES.map((m) => (m === 'security-headers' && props.frameOptions === 'SAMEORIGIN' ? SAMEORIGIN_HEADERS_MIDDLEWARE : m));
    const middlewares = [...standard, ...(props.extraMiddlewares ?? [])].map(traefikCrdRef).join(',');
    new k8s.KubeIngress(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: appLabels(props.name, 'ingress'),
        annotations: {
          'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
          'traefik.ingress.kubernetes.io/router.tls': 'true',
          'traefik.ingress.kubernetes.io/router.tls.options': traefikCrdRef(TLS_OPTION),
          'traefik.ingress.kubernetes.io/router.middlewares': middlewares,
        },
      },
      spec: {
        ingressClassName: 'traefik',
        tls: [{ hosts: [this.host] }],
        rules: [
          {
            host: this.host,
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: {
                    service: {
                      name: props.serviceName,
                      port: typeof props.servicePort === 'number' ? { number: props.servicePort } : { name: props.servicePort },
                    },
                  },
                },
              ],
            },
          },
        ],
      },
    });
  }
}
