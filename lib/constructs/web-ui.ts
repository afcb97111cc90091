import { Construct } from 'constructs';
import { ServersTransport } from '../../imports/traefik-serverstransports-traefik.io';
import { PotatoChart } from './chart';
import { appLabels } from './labels';
import type { Rule } from './network-policy';
import { AppService, ServicePort } from './service';
import { WebIngress, ingressControllerPeer } from './web-ingress';

/** Props of an app construct that serves one web UI in a zone. */
export interface WebAppProps {
  readonly namespace: string;
  /** Host label under the domain. */
  readonly subdomain: string;
}

/** Traefik talks HTTPS to the backend and checks its certificate against a CA. */
export interface HttpsBackend {
  /** Name the backend certificate is issued for. */
  readonly serverName: string;
  /** Secret (in the app's namespace) whose `ca.crt` signs the backend certificate. */
  readonly caSecret: string;
}

export interface ProxiedWebUiProps {
  /** The app: names the Service, the Ingress (and ServersTransport) and selects the app's pods. */
  readonly name: string;
  readonly namespace: string;
  /** app.kubernetes.io/component of the Service. */
  readonly role: string;
  /** Host label under the domain. */
  readonly subdomain: string;
  /** The UI port, the same on the Service and the container. */
  readonly port: number;
  /** Name of the UI port on the Service and the container. @default 'http' */
  readonly portName?: string;
  /** Further Service ports after the UI port; the Ingress does not route them. @default none */
  readonly extraPorts?: readonly ServicePort[];
  /** The backend serves HTTPS (Traefik mode: a ServersTransport and Service annotations). @default plain HTTP */
  readonly httpsBackend?: HttpsBackend;
  /** X-Frame-Options through the proxy. @default 'DENY' */
  readonly frameOptions?: 'DENY' | 'SAMEORIGIN';
}

/**
 * An app's web UI behind the proxy: its Service and its Ingress. The NetworkPolicy stays the
 * app's own (each app opens different flows); `ingressRule` is the inbound rule to put in it.
 */
export class ProxiedWebUi extends Construct {
  readonly serviceName: string;
  readonly host: string;
  /** The proxy to the UI's container port. */
  readonly ingressRule: Rule;

  constructor(scope: Construct, id: string, props: ProxiedWebUiProps) {
    super(scope, id);
    const { config } = PotatoChart.of(this);
    const { name, namespace, httpsBackend } = props;
    const portName = props.portName ?? 'http';
    const traefikHttps = httpsBackend !== undefined && config.ingress.mode === 'traefik';
    this.serviceName = name;
    new AppService(this, 'Service', {
      name,
      namespace,
      role: props.role,
      ports: [{ name: portName, port: props.port }, ...(props.extraPorts ?? [])],
      annotations: traefikHttps
        ? {
            'traefik.ingress.kubernetes.io/service.serversscheme': 'https',
            'traefik.ingress.kubernetes.io/service.serverstransport': `${namespace}-${name}@kubernetescrd`,
          }
        : undefined,
    });
    if (traefikHttps) {
      new ServersTransport(this, 'Transport', {
        metadata: { name, namespace, labels: appLabels(name, 'ingress') },
        spec: { serverName: httpsBackend.serverName, rootCAs: [{ secret: httpsBackend.caSecret }] },
      });
    }
    this.host = new WebIngress(this, 'Ingress', {
      name,
      namespace,
      subdomain: props.subdomain,
      serviceName: name,
      servicePort: portName,
      frameOptions: props.frameOptions,
    }).host;
    this.ingressRule = { peers: [ingressControllerPeer(config)], ports: [{ port: props.port }] };
  }
}
