import { COMPONENTS, COMPONENT_NAMES, ComponentName } from './components';
import { DEFAULT_IMAGES } from './images';
import { DEFAULT_GITOPS } from './gitops';
import { DEFAULT_KOPIA } from './kopia';
import { DEFAULT_NEXTCLOUD } from './nextcloud';
import { DEFAULT_MANAGEMENT } from './management';
import { DEFAULT_POSTGRES } from './postgres';
import { DEFAULT_TRAEFIK_CHART } from './traefik-chart';
import { DEFAULT_ALERT_RECEIVERS, DEFAULT_PROMETHEUS } from './prometheus';
import type { ComponentConfig, PotatoStackConfig } from './types';
import { DEFAULT_VPN } from './vpn';

function defaultComponents(): Record<ComponentName, ComponentConfig> {
  const result = {} as Record<ComponentName, ComponentConfig>;
  for (const name of COMPONENT_NAMES) {
    const spec = COMPONENTS[name];
    result[name] = { enabled: spec.enabledByDefault, containers: spec.containers };
  }
  return result;
}

/** The stack as the seed describes it, on a stock k3s install. */
export const DEFAULT_CONFIG: PotatoStackConfig = {
  profile: 'board-2gb',
  domain: 'potato.lan',
  timezone: 'Europe/Berlin',
  storage: {
    nodeName: 'potato',
    mainPath: '/mnt/seconddrive',
    cachePath: '/mnt/cachehdd',
    mountRoots: ['/mnt', '/media', '/srv'],
  },
  network: {
    podCidr: '10.42.0.0/16',
    serviceCidr: '10.43.0.0/16',
    lanCidr: '192.168.178.0/24',
    wireguardClientCidr: '10.8.0.0/24',
    // undefined: the LAN range (set it when the nodes sit in a smaller part of the LAN)
    nodeCidr: undefined,
    apiServerPort: 6443,
  },
  ingress: {
    mode: 'traefik',
    tlsSecretName: 'potatostack-tls',
    traefikChart: DEFAULT_TRAEFIK_CHART,
  },
  node: {
    // The evidence for each figure is in ../shared/footprint-evidence.md ("The board and k3s").
    memTotal: '1950Mi',
    evictionHard: '100Mi',
    osReserved: '200Mi',
    k3sServer: '550Mi',
    containerd: '64Mi',
    shimPerPod: '8Mi',
    metricsServer: true,
    zram: { enabled: true, sizePercent: 100, algorithm: 'zstd', compressionRatio: 2 },
    concurrentPeaks: 1,
  },
  monitoring: {
    grafanaAdminSecret: 'grafana-admin',
    lokiRetention: '30d',
    smart: true,
    prometheus: DEFAULT_PROMETHEUS,
    alerts: DEFAULT_ALERT_RECEIVERS,
  },
  postgres: DEFAULT_POSTGRES,
  management: DEFAULT_MANAGEMENT,
  kopia: DEFAULT_KOPIA,
  nextcloud: DEFAULT_NEXTCLOUD,
  vpn: DEFAULT_VPN,
  components: defaultComponents(),
  images: DEFAULT_IMAGES,
  gitops: DEFAULT_GITOPS,
};
