import { Construct } from 'constructs';
import { VPN_POD } from '../../names';
import { webUi } from '../../config';
import { AppDeployment, AppService, PotatoChart, PodVolume, Rule, WebIngress, ingressControllerPeer } from '../../constructs';
import { gluetunContainer, gluetunVolumes } from './gluetun';
import { QBITTORRENT_WEB_PORT, TORRENTS_MOUNT, TORRENT_FOLDERS, qbittorrentContainer, qbittorrentSettingsStep } from './qbittorrent';
import { SLSKD_WEB_PORT, SOULSEEK_FOLDERS, SOULSEEK_MOUNT, slskdContainer } from './slskd';

/** The pod's web UIs: Service and Ingress name, port, the container's port name, title in web-uis.ts, component. */
export const VPN_WEB_UIS = [
  { name: 'qbittorrent', port: QBITTORRENT_WEB_PORT, containerPort: 'qbt-web', title: 'qBittorrent', component: 'vpn' },
  { name: 'slskd', port: SLSKD_WEB_PORT, containerPort: 'slskd-web', title: 'slskd', component: 'slskd' },
] as const;

/** UID/GID of the P2P apps; the layout volumes of the pod are owned by it. */
export const VPN_APP_UID = 1000;

/** Script of the init step (as the apps' UID): qBittorrent's settings, then the download sub-folders. */
export function prepareScript(withSlskd = true): string {
  const folders = [
    ...Object.values(TORRENT_FOLDERS).map((f) => `${TORRENTS_MOUNT}/${f}`),
    ...(withSlskd ? Object.values(SOULSEEK_FOLDERS).map((f) => `${SOULSEEK_MOUNT}/${f}`) : []),
  ];
  return [qbittorrentSettingsStep().script.trimEnd(), `mkdir -p ${folders.join(' ')}`, ''].join('\n');
}

/**
 * The VPN pod: gluetun as a native sidecar owns the network namespace; qBittorrent and slskd
 * start only after its startup probe passed and share its tunnel. DNS goes to gluetun's own
 * resolver on 127.0.0.1, never to the cluster DNS (which would answer from outside the tunnel).
 * Both web UIs get a Service and an Ingress here; the chart's policy lets the proxy in with `webRule`.
 */
export class VpnPod extends Construct {
  /** The proxy to both web UIs (the pod's only inbound flow). */
  readonly webRule: Rule;

  constructor(scope: Construct, id: string, props: { namespace: string }) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const withSlskd = chart.enabled('slskd');
    const webUis = VPN_WEB_UIS.filter((ui) => chart.enabled(ui.component));
    const webPorts = webUis.map((ui) => ui.port);
    const volumes: PodVolume[] = [
      ...gluetunVolumes(),
      { name: 'qbittorrent-config', claim: 'qbittorrent-config' },
      { name: 'torrents', claim: 'torrents' },
      ...(withSlskd ? [{ name: 'slskd-data', claim: 'slskd-data' }, { name: 'soulseek', claim: 'soulseek' }] : []),
      { name: 'qbittorrent-tmp', emptyDir: { sizeLimit: '64Mi' } },
      ...(withSlskd ? [{ name: 'slskd-tmp', emptyDir: { sizeLimit: '64Mi' } }, { name: 'slskd-dotnet', emptyDir: { sizeLimit: '64Mi' } }] : []),
    ];
    new AppDeployment(this, 'Deployment', {
      name: VPN_POD,
      namespace: props.namespace,
      role: 'p2p',
      runAs: { uid: VPN_APP_UID, gid: VPN_APP_UID },
      dnsPolicy: 'None',
      dnsConfig: { nameservers: ['127.0.0.1'], options: [{ name: 'ndots', value: '1' }] },
      // gluetun tears down its routes and firewall on SIGTERM; give the apps time to close files.
      terminationGracePeriodSeconds: 45,
      initContainers: [
        {
          name: 'prepare',
          image: 'busybox',
          size: chart.size('vpn', 'prepare'),
          command: ['/bin/sh', '-c', prepareScript(withSlskd)],
          mounts: [
            ...qbittorrentSettingsStep().mounts,
            { volume: 'torrents', path: TORRENTS_MOUNT },
            ...(withSlskd ? [{ volume: 'soulseek', path: SOULSEEK_MOUNT }] : []),
          ],
        },
      ],
      sidecars: [gluetunContainer(chart, webPorts)],
      containers: [qbittorrentContainer(chart), ...(withSlskd ? [slskdContainer(chart)] : [])],
      volumes,
    });
    // All Services first, then all Ingresses: the order of the objects in the chart's YAML.
    for (const ui of webUis) {
      new AppService(this, `${ui.name}-service`, {
        name: ui.name,
        namespace: props.namespace,
        app: VPN_POD,
        role: 'p2p',
        ports: [{ name: 'http', port: ui.port, targetPort: ui.containerPort }],
      });
    }
    for (const ui of webUis) {
      new WebIngress(this, `${ui.name}-ingress`, {
        name: ui.name,
        namespace: props.namespace,
        subdomain: webUi(ui.title).subdomain,
        serviceName: ui.name,
        servicePort: 'http',
      });
    }
    this.webRule = { peers: [ingressControllerPeer(chart.config)], ports: webPorts.map((port) => ({ port })) };
  }
}
