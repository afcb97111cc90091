import { ZONES } from '../../config';
import type { Peer } from '../../constructs';

/** Namespace of the monitoring zone. */
export const MONITORING_NAMESPACE = ZONES.monitoring.namespace;

export const PROMETHEUS_APP = 'prometheus';
export const PROMETHEUS_PORT = 9090;
export const ALERTMANAGER_APP = 'alertmanager';
export const ALERTMANAGER_PORT = 9093;

/**
 * Prometheus as a NetworkPolicy peer. A zone that serves metrics allows ingress from it to
 * its metrics port in its own policy, and annotates the pod for discovery:
 *
 *     prometheus.io/scrape: "true"
 *     prometheus.io/port: "<metrics port>"
 *     prometheus.io/path: "/metrics"       (when not /metrics)
 */
export const prometheusPeer: Peer = { app: PROMETHEUS_APP, namespace: MONITORING_NAMESPACE };

/** The pod annotations of that convention, for a pod serving metrics on `port` at `path`. */
export function scrapeAnnotations(port: number, path = '/metrics'): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': path };
}

/** Alertmanager as a peer, for the components that send alerts to it (Loki's ruler). */
export const alertmanagerPeer: Peer = { app: ALERTMANAGER_APP, namespace: MONITORING_NAMESPACE };

/** In-cluster URL of a monitoring Service. */
export function monitoringServiceUrl(service: string, port: number): string {
  return `http://${service}.${MONITORING_NAMESPACE}.svc:${port}`;
}
