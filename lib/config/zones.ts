/** Pod Security Standards levels. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** A security zone of the architecture, realised as one namespace. */
export interface Zone {
  /** Namespace name. */
  readonly namespace: string;
  /** Zone name in the architecture table. */
  readonly title: string;
  /** Pod Security level that is enforced. */
  readonly enforce: PodSecurityLevel;
  /** Why the zone needs more than `restricted`, when it does. */
  readonly reason?: string;
}

export type ZoneName = 'dmz' | 'apps' | 'data' | 'vpn' | 'monitoring' | 'management';

/**
 * Every zone warns and audits at `restricted`, so anything that falls short of it is
 * visible even where a laxer level is enforced.
 */
export const ZONES: Readonly<Record<ZoneName, Zone>> = {
  dmz: {
    namespace: 'dmz',
    title: 'DMZ',
    enforce: 'baseline',
    reason: 'nginx-proxy-manager runs nginx as root to bind 80/443 inside its container',
  },
  apps: {
    namespace: 'apps',
    title: 'Application',
    enforce: 'baseline',
    reason: "Kopia's server and its kopia-snapshot job run as root with DAC_OVERRIDE to read every app's folder (each owned by its app's UID); the other apps pods meet restricted",
  },
  data: { namespace: 'data', title: 'Database', enforce: 'restricted' },
  vpn: {
    namespace: 'vpn',
    title: 'VPN',
    enforce: 'privileged',
    reason: 'gluetun in the vpn pod runs as root with NET_ADMIN, NET_RAW and /dev/net/tun to build the tunnel and its firewall',
  },
  monitoring: {
    namespace: 'monitoring',
    title: 'Monitoring',
    enforce: 'privileged',
    reason: 'node-exporter uses the host network and PID namespaces and reads host folders, and fluent-bit reads the root-only pod logs from a host folder',
  },
  management: {
    namespace: 'management',
    title: 'Management',
    enforce: 'baseline',
    reason: 'Portainer ships no user and runs as root (without capabilities); the other management pods meet restricted',
  },
};
