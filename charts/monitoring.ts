import { Construct } from 'constructs';
import { PotatoStackConfig } from '../lib/config';
import { PotatoChart } from '../lib/constructs';
import { Alertmanager } from '../lib/apps/monitoring/alertmanager';
import { Prometheus } from '../lib/apps/monitoring/prometheus';
import { FluentBit } from '../lib/apps/monitoring/fluent-bit';
import { Grafana } from '../lib/apps/monitoring/grafana';
import { KubeStateMetrics } from '../lib/apps/monitoring/kube-state-metrics';
import { Loki } from '../lib/apps/monitoring/loki';
import { Netdata } from '../lib/apps/monitoring/netdata';
import { NodeExporter } from '../lib/apps/monitoring/node-exporter';
import { ThanosQuery } from '../lib/apps/monitoring/thanos';

/**
 * Monitoring zone: kube-prometheus-style metrics, alerts, dashboards and logs, sized for
 * the board. Each component renders its own configuration, Service, Ingress and policies.
 */
export class MonitoringChart extends PotatoChart {
  constructor(scope: Construct, id: string, config: PotatoStackConfig) {
    super(scope, id, config);
    if (this.enabled('prometheus')) new Prometheus(this, 'prometheus');
    if (this.enabled('alertmanager')) new Alertmanager(this, 'alertmanager');
    if (this.enabled('grafana')) new Grafana(this, 'grafana');
    if (this.enabled('loki')) new Loki(this, 'loki');
    if (this.enabled('fluent-bit')) new FluentBit(this, 'fluent-bit');
    if (this.enabled('node-exporter')) new NodeExporter(this, 'node-exporter');
    if (this.enabled('kube-state-metrics')) new KubeStateMetrics(this, 'kube-state-metrics');
    if (this.enabled('netdata')) new Netdata(this, 'netdata');
    if (this.enabled('thanos')) new ThanosQuery(this, 'thanos');
  }
}
