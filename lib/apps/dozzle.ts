import { Construct } from 'constructs';
import {
  AppDeployment,
  AppPolicy,
  ApiIdentity,
  ApiRule,
  PotatoChart,
  ProxiedWebUi,
  apiServerEgress,
  goMemLimit,
  httpProbe,
  startupWindow,
} from '../constructs';
import type { WebAppProps } from '../constructs';

export const DOZZLE_NAME = 'dozzle';
export const DOZZLE_PORT = 8080;
/** Secret with Dozzle's user list; created by the operator (see docs/management.md), never synthesized. */
export const DOZZLE_USERS_SECRET = 'dozzle-users';
/** Key of that Secret: a Dozzle `users.yml` with bcrypt password hashes. */
export const DOZZLE_USERS_KEY = 'users.yml';
/** UID/GID Dozzle runs as: it reads the API and its Secret, so any unprivileged user will do. */
export const DOZZLE_UID = 65534;

/**
 * What Dozzle's Kubernetes client calls, read-only: it lists nodes once at start (host name),
 * lists, gets and watches pods (the container list and its live updates), streams logs (a
 * `get` on the `pods/log` subresource; list and watch have no meaning there), and reads the
 * Metrics API for the CPU/memory sparklines.
 */
export const DOZZLE_RULES: readonly ApiRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
  { apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list'] },
];

export type DozzleProps = WebAppProps;

/**
 * Dozzle in Kubernetes mode (`DOZZLE_MODE=k8s`): live logs of every pod through the API with a
 * read-only ClusterRole, behind its own login (simple auth with a users file from a Secret).
 */
export class Dozzle extends Construct {
  constructor(scope: Construct, id: string, props: DozzleProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const { namespace } = props;
    const size = chart.size('dozzle', 'dozzle');

    const identity = new ApiIdentity(this, 'api', { name: DOZZLE_NAME, namespace, rules: DOZZLE_RULES });

    new AppDeployment(this, 'deployment', {
      name: DOZZLE_NAME,
      namespace,
      role: 'server',
      serviceAccountName: identity.serviceAccountName,
      runAs: { uid: DOZZLE_UID, gid: DOZZLE_UID },
      volumes: [
        // Per-user UI settings; lost on restart, which is acceptable for a log viewer.
        { name: 'data', emptyDir: { sizeLimit: '16Mi' } },
        // Not optional: without the users file there is no login, so the pod waits for the Secret.
        { name: 'users', secret: DOZZLE_USERS_SECRET, defaultMode: 0o440 },
      ],
      containers: [
        {
          name: 'dozzle',
          image: 'dozzle',
          size,
          env: {
            DOZZLE_MODE: 'k8s',
            DOZZLE_ADDR: `:${DOZZLE_PORT}`,
            DOZZLE_AUTH_PROVIDER: 'simple',
            // Egress is closed anyway; this keeps it from trying.
            DOZZLE_NO_ANALYTICS: 'true',
            GOMEMLIMIT: goMemLimit(size),
          },
          ports: [{ name: 'http', port: DOZZLE_PORT }],
          mounts: [
            { volume: 'data', path: '/data' },
            { volume: 'users', path: `/data/${DOZZLE_USERS_KEY}`, subPath: DOZZLE_USERS_KEY, readOnly: true },
          ],
          probes: {
            startup: startupWindow(httpProbe('/healthcheck', 'http'), 2),
            liveness: httpProbe('/healthcheck', 'http', { periodSeconds: 30 }),
          },
        },
      ],
    });

    const ui = new ProxiedWebUi(this, 'ui', { name: DOZZLE_NAME, namespace, role: 'server', subdomain: props.subdomain, port: DOZZLE_PORT });

    new AppPolicy(this, 'policy', {
      name: `${DOZZLE_NAME}-traffic`,
      namespace,
      app: DOZZLE_NAME,
      ingress: [ui.ingressRule],
      egress: apiServerEgress(config),
    });
  }
}
