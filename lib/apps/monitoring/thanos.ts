import { Construct } from 'constructs';
import { ZONES } from '../../config';
import {
  AppDeployment,
  AppPolicy,
  AppService,
  LongRunningContainerProps,
  PotatoChart,
  goMemLimit,
  httpProbe,
} from '../../constructs';

const NAMESPACE = ZONES.monitoring.namespace;
export const THANOS_QUERY = 'thanos-query';
export const THANOS_QUERY_HTTP_PORT = 10902;
export const THANOS_GRPC_PORT = 10901;
/** The sidecar's HTTP port (readiness, metrics) inside the Prometheus pod. */
export const THANOS_SIDECAR_HTTP_PORT = 10902;
/** Service that exposes the sidecar's StoreAPI (gRPC) of the Prometheus pod to thanos-query. */
export const THANOS_SIDECAR_SERVICE = 'thanos-sidecar';
/** App label of the Prometheus pod (prometheus.ts owns it). */
const PROMETHEUS_APP = 'prometheus';

export interface ThanosSidecarProps {
  /** Pod volume holding Prometheus's TSDB. */
  readonly dataVolume: string;
  /** Where Prometheus mounts it (its --storage.tsdb.path). */
  readonly dataPath: string;
  /** @default 9090 */
  readonly prometheusPort?: number;
}

/**
 * The Thanos sidecar as a container of the Prometheus pod.
 *
 * For the Prometheus construct (prometheus.ts): when `components.thanos.enabled`, add
 * `thanosSidecarContainer(chart, { dataVolume, dataPath })` to the pod's containers. The
 * sidecar refuses to start unless prometheus.yml has non-empty `global.external_labels`
 * (prometheus-config.ts sets `cluster`). It serves Prometheus's data over the
 * StoreAPI only (no object storage is configured, so nothing is uploaded and Prometheus's
 * block durations need no change). The Service and policies around it are created here.
 */
export function thanosSidecarContainer(chart: PotatoChart, props: ThanosSidecarProps): LongRunningContainerProps {
  const size = chart.size('thanos', 'thanos-sidecar');
  return {
    name: 'thanos-sidecar',
    image: 'thanos',
    size,
    args: [
      'sidecar',
      `--prometheus.url=http://localhost:${props.prometheusPort ?? 9090}`,
      `--tsdb.path=${props.dataPath}`,
      `--grpc-address=0.0.0.0:${THANOS_GRPC_PORT}`,
      `--http-address=0.0.0.0:${THANOS_SIDECAR_HTTP_PORT}`,
      '--log.level=warn',
    ],
    env: { GOMEMLIMIT: goMemLimit(size) },
    ports: [
      { name: 'thanos-grpc', port: THANOS_GRPC_PORT },
      { name: 'thanos-http', port: THANOS_SIDECAR_HTTP_PORT },
    ],
    mounts: [{ volume: props.dataVolume, path: props.dataPath, readOnly: true }],
    probes: {
      startup: httpProbe('/-/ready', 'thanos-http', { failureThreshold: 30 }),
      liveness: httpProbe('/-/healthy', 'thanos-http', { periodSeconds: 30 }),
    },
  };
}

/**
 * Thanos query in front of the sidecar: one PromQL endpoint for long-range queries. Off by
 * default (`components.thanos.enabled`): with one Prometheus and no object storage it adds
 * little but memory, and it is here for operators who ship blocks elsewhere.
 */
export class ThanosQuery extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const size = chart.size('thanos', 'thanos-query');
    new AppService(this, 'SidecarService', {
      name: THANOS_SIDECAR_SERVICE,
      namespace: NAMESPACE,
      app: PROMETHEUS_APP,
      role: 'store-api',
      ports: [{ name: 'grpc', port: THANOS_GRPC_PORT, targetPort: 'thanos-grpc' }],
    });
    const ready = httpProbe('/-/ready', 'http');
    new AppDeployment(this, 'Deployment', {
      name: THANOS_QUERY,
      namespace: NAMESPACE,
      role: 'query',
      runAs: { uid: 65534, gid: 65534 },
      containers: [
        {
          name: THANOS_QUERY,
          image: 'thanos',
          size,
          args: [
            'query',
            `--http-address=0.0.0.0:${THANOS_QUERY_HTTP_PORT}`,
            `--grpc-address=0.0.0.0:${THANOS_GRPC_PORT}`,
            `--endpoint=${THANOS_SIDECAR_SERVICE}.${NAMESPACE}.svc:${THANOS_GRPC_PORT}`,
            '--log.level=warn',
          ],
          env: { GOMEMLIMIT: goMemLimit(size) },
          ports: [
            { name: 'http', port: THANOS_QUERY_HTTP_PORT },
            { name: 'grpc', port: THANOS_GRPC_PORT },
          ],
          probes: { readiness: ready, liveness: httpProbe('/-/healthy', 'http', { periodSeconds: 30 }) },
        },
      ],
    });
    new AppService(this, 'Service', { name: THANOS_QUERY, namespace: NAMESPACE, role: 'query', ports: [{ name: 'http', port: THANOS_QUERY_HTTP_PORT }] });
    new AppPolicy(this, 'Policy', {
      name: 'thanos-query-flows',
      namespace: NAMESPACE,
      app: THANOS_QUERY,
      ingress: chart.enabled('grafana') ? [{ peers: [{ app: 'grafana', namespace: NAMESPACE }], ports: [{ port: THANOS_QUERY_HTTP_PORT }] }] : undefined,
      egress: [{ peers: [{ app: PROMETHEUS_APP, namespace: NAMESPACE }], ports: [{ port: THANOS_GRPC_PORT }] }],
    });
    // The other end of the same flow, on the Prometheus pod (its own policies stay untouched).
    new AppPolicy(this, 'SidecarPolicy', {
      name: 'prometheus-thanos-sidecar',
      namespace: NAMESPACE,
      app: PROMETHEUS_APP,
      ingress: [{ peers: [{ app: THANOS_QUERY, namespace: NAMESPACE }], ports: [{ port: THANOS_GRPC_PORT }] }],
    });
  }
}
