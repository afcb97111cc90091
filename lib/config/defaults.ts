import { COMPONENTS, COMPONENT_NAMES, ComponentName } from './components';
import { DEFAULT_IMAGES } from './images';
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
  domain: 'potato.lan',
  timezone: 'Europe/Berlin',
  storage: {
    nodeName: 'potato',
    mainPath: '/mnt/seconddrive',
    cachePath: '/mnt/cachehdd',
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
    physicalMemory: '2Gi',
    kernelReserved: '100Mi',
    osReserved: '150Mi',
    k3sReserved: '450Mi',
    // Memory requests of k3s's own manifests; local-path-provisioner and svclb request none.
    addonPods: { coredns: '70Mi', 'metrics-server': '70Mi' },
    limitOvercommit: 3,
  },
  monitoring: {
    grafanaAdminSecret: 'grafana-admin',
    lokiRetention: '30d',
    smartctlDevices: ['/dev/sda', '/dev/sdb'],
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
};
