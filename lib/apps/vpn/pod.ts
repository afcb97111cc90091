import { Construct } from 'constructs';
import { VPN_POD } from '../../names';
import { AppDeployment, AppService, PotatoChart, PodVolume } from '../../constructs';
import { gluetunContainer, gluetunVolumes } from './gluetun';
import { QBITTORRENT_WEB_PORT, TORRENTS_MOUNT, TORRENT_FOLDERS, qbittorrentContainer, qbittorrentSettingsStep } from './qbittorrent';
import { SLSKD_WEB_PORT, SOULSEEK_FOLDERS, SOULSEEK_MOUNT, slskdContainer } from './slskd';

/** UID/GID of the P2P apps; the layout volumes of the pod are owned by it. */
export const VPN_APP_UID = 1000;

/** Script of the init step (as the apps' UID): qBittorrent's settings, then the download sub-folders. */
export function prepareScript(): string {
  const folders = [
    ...Object.values(TORRENT_FOLDERS).map((f) => `${TORRENTS_MOUNT}/${f}`),
    ...Object.values(SOULSEEK_FOLDERS).map((f) => `${SOULSEEK_MOUNT}/${f}`),
  ];
  return [qbittorrentSettingsStep().script.trimEnd(), `mkdir -p ${folders.join(' ')}`, ''].join('\n');
}

/**
 * The VPN pod: gluetun as a native sidecar owns the network namespace; qBittorrent and slskd
 * start only after its startup probe passed and share its tunnel. DNS goes to gluetun's own
 * resolver on 127.0.0.1, never to the cluster DNS (which would answer from outside the tunnel).
 */
export class VpnPod extends Construct {
  readonly services: { qbittorrent: AppService; slskd: AppService };

  constructor(scope: Construct, id: string, props: { namespace: string }) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const webPorts = [QBITTORRENT_WEB_PORT, SLSKD_WEB_PORT];
    const volumes: PodVolume[] = [
      ...gluetunVolumes(),
      { name: 'qbittorrent-config', claim: 'qbittorrent-config' },
      { name: 'torrents', claim: 'torrents' },
      { name: 'slskd-data', claim: 'slskd-data' },
      { name: 'soulseek', claim: 'soulseek' },
      { name: 'qbittorrent-tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'slskd-tmp', emptyDir: { sizeLimit: '64Mi' } },
      { name: 'slskd-dotnet', emptyDir: { sizeLimit: '64Mi' } },
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
          command: ['/bin/sh', '-c', prepareScript()],
          mounts: [
            ...qbittorrentSettingsStep().mounts,
            { volume: 'torrents', path: TORRENTS_MOUNT },
            { volume: 'soulseek', path: SOULSEEK_MOUNT },
          ],
        },
      ],
      sidecars: [gluetunContainer(chart, webPorts)],
      containers: [qbittorrentContainer(chart), slskdContainer(chart)],
      volumes,
    });
    this.services = {
      qbittorrent: new AppService(this, 'QbittorrentService', {
        name: 'qbittorrent',
        namespace: props.namespace,
        app: VPN_POD,
        role: 'p2p',
        ports: [{ name: 'http', port: QBITTORRENT_WEB_PORT, targetPort: 'qbt-web' }],
      }),
      slskd: new AppService(this, 'SlskdService', {
        name: 'slskd',
        namespace: props.namespace,
        app: VPN_POD,
        role: 'p2p',
        ports: [{ name: 'http', port: SLSKD_WEB_PORT, targetPort: 'slskd-web' }],
      }),
    };
  }
}
