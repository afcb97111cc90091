import { Construct } from 'constructs';
import { ZONES, webUi } from '../../config';
import { AppPolicy, NodeDaemonSet, PotatoChart, ProxiedWebUi, httpProbe, startupWindow } from '../../constructs';

const NAMESPACE = ZONES.monitoring.namespace;
export const NETDATA_PORT = 19999;

/**
 * Netdata per node, off by default (`components.netdata.enabled`): its per-second engine
 * wants 250 MiB+ and duplicates node-exporter + Grafana, so it does not fit the default
 * budget. Local only: no Netdata Cloud, no telemetry, no egress.
 */
export class Netdata extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const name = 'netdata';
    const api = httpProbe('/api/v1/info', 'http');
    new NodeDaemonSet(this, 'DaemonSet', {
      name,
      namespace: NAMESPACE,
      role: 'monitoring',
      annotations: { 'prometheus.io/scrape': 'false' },
      containers: [
        {
          name,
          image: 'netdata',
          size: chart.size('netdata', 'netdata'),
          env: { DO_NOT_TRACK: '1', NETDATA_DISABLE_CLOUD: '1', NETDATA_HOST_PREFIX: '/host', TZ: chart.config.timezone },
          ports: [{ name: 'http', port: NETDATA_PORT }],
          securityException: {
            reason:
              "optional component: Netdata's entrypoint starts as root, switches to its own user and writes its configuration and database under /etc and /var; apps.plugin needs SYS_PTRACE to read other processes",
            runAsRoot: true,
            writableRootFilesystem: true,
            keepDefaultCapabilities: true,
            addCapabilities: ['SYS_PTRACE'],
          },
          mounts: [
            { volume: 'proc', path: '/host/proc', readOnly: true },
            { volume: 'sys', path: '/host/sys', readOnly: true },
          ],
          probes: { startup: startupWindow(api, 3), liveness: { ...api, periodSeconds: 30 } },
        },
      ],
      volumes: [
        { name: 'proc', hostPath: '/proc', type: 'Directory' },
        { name: 'sys', hostPath: '/sys', type: 'Directory' },
      ],
    });
    const ui = new ProxiedWebUi(this, 'Ui', { name, namespace: NAMESPACE, role: 'monitoring', subdomain: webUi('Netdata').subdomain, port: NETDATA_PORT });
    new AppPolicy(this, 'Policy', {
      name: 'netdata-flows',
      namespace: NAMESPACE,
      app: name,
      ingress: [ui.ingressRule],
    });
  }
}
