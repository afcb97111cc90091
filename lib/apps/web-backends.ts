import { COMPONENTS, ComponentName, PotatoStackConfig, WEB_UIS, ZONES } from '../config';
import { VPN_POD } from '../names';
import { DOZZLE_PORT } from './dozzle';
import { GITEA_PORTS } from './gitea';
import { HOMEPAGE_PORT } from './homepage';
import { KOPIA_PORTS } from './kopia';
import { ALERTMANAGER_PORT, GRAFANA_PORT, PROMETHEUS_PORT } from './monitoring/grafana';
import { NETDATA_PORT } from './monitoring/netdata';
import { NEXTCLOUD_HTTP_PORT } from './nextcloud';
import { PORTAINER_HTTP_PORT } from './portainer';
import { UPTIME_KUMA_PORT } from './uptime-kuma';
import { SLSKD_WEB_PORT } from './vpn/slskd';
import { QBITTORRENT_WEB_PORT } from './vpn/qbittorrent';

/**
 * The pod port behind each web UI of lib/config/web-uis.ts, by title. NetworkPolicy sees the
 * pod address and container port after the Service's DNAT, so whoever reaches a UI directly
 * (nginx-proxy-manager, Uptime Kuma) must be allowed these, not the Service ports.
 * test/proxy.test.ts checks them against the synthesized Ingresses, Services and containers.
 * A function, not a constant: the app modules that define the ports import this one back.
 */
export function webUiBackends(): Readonly<Record<string, { readonly app: string; readonly port: number }>> {
  return {
    Homepage: { app: 'homepage', port: HOMEPAGE_PORT },
    Nextcloud: { app: 'nextcloud', port: NEXTCLOUD_HTTP_PORT },
    Kopia: { app: 'kopia', port: KOPIA_PORTS.https },
    Gitea: { app: 'gitea', port: GITEA_PORTS.http },
    qBittorrent: { app: VPN_POD, port: QBITTORRENT_WEB_PORT },
    slskd: { app: VPN_POD, port: SLSKD_WEB_PORT },
    Grafana: { app: 'grafana', port: GRAFANA_PORT },
    Prometheus: { app: 'prometheus', port: PROMETHEUS_PORT },
    Alertmanager: { app: 'alertmanager', port: ALERTMANAGER_PORT },
    Netdata: { app: 'netdata', port: NETDATA_PORT },
    Portainer: { app: 'portainer', port: PORTAINER_HTTP_PORT },
    'Uptime Kuma': { app: 'uptime-kuma', port: UPTIME_KUMA_PORT },
    Dozzle: { app: 'dozzle', port: DOZZLE_PORT },
  };
}

/** A web UI: the pods and container port behind it. */
export interface WebBackend {
  readonly title: string;
  readonly component: ComponentName;
  readonly namespace: string;
  readonly app: string;
  readonly port: number;
}

/** Namespace of a component's pods. */
function namespaceOf(component: ComponentName): string {
  const zone = COMPONENTS[component].zone;
  return zone === 'kube-system' || zone === 'flux-system' ? zone : ZONES[zone].namespace;
}

/** The web UIs of the enabled components, except nginx-proxy-manager's own admin UI. */
export function webBackends(config: PotatoStackConfig): WebBackend[] {
  const backends = webUiBackends();
  return WEB_UIS.filter((ui) => ui.component !== 'nginx-proxy-manager' && config.components[ui.component].enabled).map((ui) => {
    const backend = backends[ui.title];
    if (!backend) throw new Error(`web UI '${ui.title}' has no backend port in webUiBackends (lib/apps/web-backends.ts)`);
    return { title: ui.title, component: ui.component, namespace: namespaceOf(ui.component), ...backend };
  });
}

/** Backends grouped per app: one entry per (namespace, app) with all its UI ports. */
export function backendsPerApp(backends: readonly WebBackend[]): { namespace: string; app: string; ports: number[] }[] {
  const grouped = new Map<string, { namespace: string; app: string; ports: number[] }>();
  for (const b of backends) {
    const key = `${b.namespace}/${b.app}`;
    const entry = grouped.get(key) ?? { namespace: b.namespace, app: b.app, ports: [] };
    if (!entry.ports.includes(b.port)) entry.ports.push(b.port);
    grouped.set(key, entry);
  }
  return [...grouped.values()];
}
