import { Construct } from 'constructs';
import {
  AppDeployment,
  AppPolicy,
  ApiIdentity,
  PotatoChart,
  ProxiedWebUi,
  apiServerEgress,
  goMemLimit,
  httpProbe,
  startupWindow,
} from '../constructs';
import type { WebAppProps } from '../constructs';

export const PORTAINER_NAME = 'portainer';
/** Plain HTTP UI and API: what the proxy talks to (TLS ends at the proxy). */
export const PORTAINER_HTTP_PORT = 9000;
/** Portainer's own HTTPS listener with a self-signed certificate; not published. */
export const PORTAINER_HTTPS_PORT = 9443;
export const PORTAINER_DATA_CLAIM = 'portainer-data';
/** Unauthenticated status endpoint (version and instance id). */
export const PORTAINER_STATUS_PATH = '/api/system/status';

export type PortainerProps = WebAppProps;

/**
 * Portainer CE in Kubernetes mode: it finds the API through its in-cluster ServiceAccount and
 * manages the cluster it runs in. That needs cluster-admin, which is why it has its own
 * ServiceAccount (nothing else shares the binding) and can be turned off.
 */
export class Portainer extends Construct {
  constructor(scope: Construct, id: string, props: PortainerProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const { namespace } = props;
    const size = chart.size('portainer', 'portainer');

    const identity = new ApiIdentity(this, 'api', { name: PORTAINER_NAME, namespace, clusterRole: 'cluster-admin' });

    new AppDeployment(this, 'deployment', {
      name: PORTAINER_NAME,
      namespace,
      role: 'server',
      serviceAccountName: identity.serviceAccountName,
      volumes: [
        { name: 'data', claim: PORTAINER_DATA_CLAIM },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ],
      containers: [
        {
          name: 'portainer',
          image: 'portainer',
          size,
          // Recent releases serve only HTTPS unless told otherwise; the proxy speaks HTTP to it.
          args: ['--http-enabled'],
          env: { GOMEMLIMIT: goMemLimit(size) },
          ports: [
            { name: 'http', port: PORTAINER_HTTP_PORT },
            { name: 'https', port: PORTAINER_HTTPS_PORT },
          ],
          mounts: [
            { volume: 'data', path: '/data' },
            { volume: 'tmp', path: '/tmp' },
          ],
          securityException: {
            reason:
              'Portainer ships no user and is supported only as root; its data folder on the HDD is root-owned (0700). ' +
              'It still runs without capabilities, privilege escalation or a writable root filesystem.',
            runAsRoot: true,
          },
          probes: {
            // First start creates its database and a self-signed certificate on the HDD.
            startup: startupWindow(httpProbe(PORTAINER_STATUS_PATH, 'http'), 5),
            liveness: httpProbe(PORTAINER_STATUS_PATH, 'http', { periodSeconds: 30 }),
          },
        },
      ],
    });

    const ui = new ProxiedWebUi(this, 'ui', { name: PORTAINER_NAME, namespace, role: 'server', subdomain: props.subdomain, port: PORTAINER_HTTP_PORT });

    new AppPolicy(this, 'policy', {
      name: `${PORTAINER_NAME}-traffic`,
      namespace,
      app: PORTAINER_NAME,
      ingress: [ui.ingressRule],
      // The Kubernetes API only: no templates or update checks from the internet.
      egress: apiServerEgress(config),
    });
  }
}
