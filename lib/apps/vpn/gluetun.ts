import type { PotatoStackConfig } from '../../config';
import { OPENVPN_FIXED_PORT_PROVIDERS, vpnTransport } from '../../config';
import { NON_PUBLIC_IPV4, cidrWithin, isIpv4Cidr } from '../../config/cidr';
import type { EnvValue, LongRunningContainerProps, Peer, PodVolume, PotatoChart } from '../../constructs';
import { httpProbe } from '../../constructs';

/** gluetun's health server: GET / answers 200 while the tunnel works. Bound to all addresses so the kubelet can probe it. */
export const GLUETUN_HEALTH_PORT = 9999;
/** Secret with the tunnel credentials (created out of band, never synthesized). */
export const VPN_CREDENTIALS_SECRET = 'vpn-credentials';
/** Keys of VPN_CREDENTIALS_SECRET per tunnel type. */
export const VPN_CREDENTIAL_KEYS = {
  wireguard: ['WIREGUARD_PRIVATE_KEY', 'WIREGUARD_ADDRESSES'],
  openvpn: ['OPENVPN_USER', 'OPENVPN_PASSWORD'],
} as const;

/**
 * gluetun's Kubernetes note: an abrupt exit leaves its policy routing rules for table 51820
 * in the pod's network namespace, and the restarted container then fails with "file exists".
 * Deleting them as the container starts is harmless when there are none.
 */
export const STALE_RULES_CLEANUP = '(ip rule del table 51820; ip -6 rule del table 51820) || true';

/**
 * "The internet": every IPv4 address except the non-public ranges, plus the cluster and LAN
 * ranges of the config when an operator uses public-looking ones.
 */
export function publicInternet(config: PotatoStackConfig): Peer {
  const { network } = config;
  const own = [network.podCidr, network.serviceCidr, network.lanCidr, network.wireguardClientCidr, network.nodeCidr]
    .filter((c): c is string => typeof c === 'string' && isIpv4Cidr(c))
    .filter((c) => !NON_PUBLIC_IPV4.some((range) => cidrWithin(c, range)));
  return { cidr: '0.0.0.0/0', except: [...NON_PUBLIC_IPV4, ...new Set(own)] };
}

/** The one egress flow of the VPN pod: the tunnel transport to public addresses. */
export function tunnelEgressRule(config: PotatoStackConfig) {
  return { peers: [publicInternet(config)], ports: [vpnTransport(config.vpn)] };
}

function secretEnv(key: string): EnvValue {
  return { secret: VPN_CREDENTIALS_SECRET, key, optional: false };
}

/** gluetun's environment: provider, credentials from the Secret, firewall and health settings. */
export function gluetunEnv(config: PotatoStackConfig, inputPorts: readonly number[]): Record<string, EnvValue> {
  const { vpn, network } = config;
  const env: Record<string, EnvValue> = {
    TZ: config.timezone,
    VPN_SERVICE_PROVIDER: vpn.provider,
    VPN_TYPE: vpn.type,
  };
  if (vpn.serverCountries.length > 0) env.SERVER_COUNTRIES = vpn.serverCountries.join(',');
  for (const key of VPN_CREDENTIAL_KEYS[vpn.type]) env[key] = secretEnv(key);
  if (vpn.type === 'openvpn') {
    env.OPENVPN_PROTOCOL = vpn.openvpnProtocol;
    // gluetun rejects a custom port for providers whose port it fixes itself.
    if (!OPENVPN_FIXED_PORT_PROVIDERS.includes(vpn.provider)) env.OPENVPN_ENDPOINT_PORT = String(vpn.openvpnPort);
  }
  return {
    ...env,
    // Only the web UIs and the health server may be reached from outside the pod.
    FIREWALL_INPUT_PORTS: [...inputPorts, GLUETUN_HEALTH_PORT].join(','),
    // Replies to Traefik and kubelet leave through eth0; the NetworkPolicy still forbids new
    // connections from the pod to these ranges.
    FIREWALL_OUTBOUND_SUBNETS: [network.podCidr, network.serviceCidr].join(','),
    HEALTH_SERVER_ADDRESS: `:${GLUETUN_HEALTH_PORT}`,
    // The control server can change the VPN settings: keep it on loopback.
    HTTP_CONTROL_SERVER_ADDRESS: '127.0.0.1:8000',
    // Block lists cost tens of MiB on a 2 GB board and are not what this pod is for.
    BLOCK_MALICIOUS: 'off',
    BLOCK_SURVEILLANCE: 'off',
    BLOCK_ADS: 'off',
  };
}

/** Volumes gluetun needs: the host's TUN device and scratch space for a read-only root. */
export function gluetunVolumes(): PodVolume[] {
  return [
    { name: 'tun', hostPath: '/dev/net/tun', type: 'CharDevice' },
    { name: 'gluetun-data', emptyDir: { sizeLimit: '16Mi' } },
    { name: 'gluetun-tmp', emptyDir: { sizeLimit: '16Mi' } },
    { name: 'gluetun-run', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    { name: 'gluetun-openvpn', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
  ];
}

/**
 * gluetun as the pod's first long-running container (a native sidecar). Its startup probe on
 * the health server holds qBittorrent and slskd back until the tunnel is up.
 */
export function gluetunContainer(chart: PotatoChart, inputPorts: readonly number[]): LongRunningContainerProps {
  const health = (failureThreshold: number, periodSeconds: number) => httpProbe('/', 'health', { periodSeconds, failureThreshold, timeoutSeconds: 5 });
  return {
    name: 'gluetun',
    image: 'gluetun',
    size: chart.size('vpn', 'gluetun'),
    env: gluetunEnv(chart.config, inputPorts),
    ports: [{ name: 'health', port: GLUETUN_HEALTH_PORT }],
    mounts: [
      { volume: 'tun', path: '/dev/net/tun' },
      { volume: 'gluetun-data', path: '/gluetun' },
      { volume: 'gluetun-tmp', path: '/tmp' },
      { volume: 'gluetun-run', path: '/run' },
      { volume: 'gluetun-openvpn', path: '/etc/openvpn' },
    ],
    lifecycle: { postStart: { exec: { command: ['/bin/sh', '-c', STALE_RULES_CLEANUP] } } },
    probes: {
      // Up to 5 minutes for the first handshake (server list, DNS over TLS, health check).
      startup: health(60, 5),
      // gluetun restarts the tunnel itself when the health check fails; restart the container
      // only when that has not helped for 3 minutes.
      liveness: health(6, 30),
    },
    securityException: {
      reason:
        'gluetun builds the tunnel, routes and iptables killswitch: it runs as root with NET_ADMIN (routes, rules, firewall) and NET_RAW (iptables-legacy and the ICMP health check use raw sockets); /dev/net/tun comes from the host as a CharDevice hostPath, so neither MKNOD nor privileged is needed',
      runAsRoot: true,
      addCapabilities: ['NET_ADMIN', 'NET_RAW'],
    },
  };
}
