import type { PotatoStackConfig } from './types';
import type { Report } from './validate';

/**
 * `VPN_SERVICE_PROVIDER` values gluetun knows (its `internal/constants/providers`), including
 * `custom` for a hand-written WireGuard/OpenVPN configuration. Re-check when the gluetun
 * image is bumped: gluetun refuses to start with a name it does not know.
 */
export const GLUETUN_PROVIDERS = [
  'airvpn',
  'custom',
  'cyberghost',
  'expressvpn',
  'fastestvpn',
  'giganews',
  'hidemyass',
  'ipvanish',
  'ivpn',
  'mullvad',
  'nordvpn',
  'ovpn',
  'perfect privacy',
  'privado',
  'private internet access',
  'privatevpn',
  'protonvpn',
  'purevpn',
  'slickvpn',
  'surfshark',
  'torguard',
  'vpnsecure',
  'vpn unlimited',
  'vyprvpn',
  'windscribe',
] as const;

/** Providers gluetun can drive over WireGuard (its WireGuard settings validation). */
export const WIREGUARD_PROVIDERS: readonly string[] = [
  'airvpn',
  'custom',
  'fastestvpn',
  'ivpn',
  'mullvad',
  'nordvpn',
  'ovpn',
  'protonvpn',
  'surfshark',
  'windscribe',
];

/**
 * Providers whose OpenVPN port gluetun fixes itself (`OPENVPN_ENDPOINT_PORT` is rejected for
 * them); for these the `openvpnPort` prop only opens the NetworkPolicy and must equal the
 * provider's port for the chosen protocol.
 */
export const OPENVPN_FIXED_PORT_PROVIDERS: readonly string[] = [
  'expressvpn',
  'fastestvpn',
  'giganews',
  'ipvanish',
  'nordvpn',
  'privado',
  'purevpn',
  'surfshark',
  'vpnsecure',
  'vpn unlimited',
  'vyprvpn',
];

/** Providers gluetun only drives over UDP OpenVPN. */
export const OPENVPN_UDP_ONLY_PROVIDERS: readonly string[] = ['giganews', 'ipvanish', 'perfect privacy', 'privado', 'vyprvpn'];

/** WireGuard or OpenVPN, as gluetun's `VPN_TYPE`. */
export type VpnType = 'wireguard' | 'openvpn';

/** Weekly removal of stale partial downloads from the cache HDD. */
export interface VpnCacheCleanupConfig {
  /** Cron schedule (five fields) in the configured time zone. @default '30 4 * * 0' (Sunday 04:30) */
  readonly schedule: string;
  /** Incomplete files untouched (not written) for more than this many days are removed. @default 14 */
  readonly maxAgeDays: number;
  /** Only log what would be removed, remove nothing. @default false */
  readonly dryRun: boolean;
}

/**
 * The VPN zone: gluetun's provider settings and the P2P apps behind it. Credentials never
 * live here: they come from the Secrets `vpn-credentials` and `slskd` (see docs/vpn.md).
 */
export interface VpnConfig {
  /** gluetun `VPN_SERVICE_PROVIDER`, one of GLUETUN_PROVIDERS. @default 'surfshark' */
  readonly provider: string;
  /** Tunnel protocol; WireGuard only for WIREGUARD_PROVIDERS. @default 'wireguard' */
  readonly type: VpnType;
  /** gluetun `SERVER_COUNTRIES`; empty lets gluetun pick any server of the provider. @default ['Netherlands'] */
  readonly serverCountries: readonly string[];
  /** UDP port of the provider's WireGuard servers: the only port the NetworkPolicy opens for WireGuard. @default 51820 */
  readonly wireguardPort: number;
  /** OpenVPN transport when `type` is 'openvpn'. @default 'udp' */
  readonly openvpnProtocol: 'udp' | 'tcp';
  /**
   * Port of the provider's OpenVPN servers for that protocol (Surfshark: 1194 udp, 1443 tcp).
   * Passed to gluetun only for providers that accept a custom port; the NetworkPolicy opens
   * exactly this port. @default 1194
   */
  readonly openvpnPort: number;
  /** slskd's Soulseek listen port (nobody can reach it without port forwarding, but slskd binds one). @default 50300 */
  readonly slskdListenPort: number;
  /** The weekly download cache cleanup. */
  readonly cleanup: VpnCacheCleanupConfig;
}

export const DEFAULT_VPN: VpnConfig = {
  provider: 'surfshark',
  type: 'wireguard',
  serverCountries: ['Netherlands'],
  wireguardPort: 51820,
  openvpnProtocol: 'udp',
  openvpnPort: 1194,
  slskdListenPort: 50300,
  cleanup: { schedule: '30 4 * * 0', maxAgeDays: 14, dryRun: false },
};

/** The tunnel's transport as the NetworkPolicy sees it: one port and protocol. */
export function vpnTransport(vpn: VpnConfig): { port: number; protocol: 'UDP' | 'TCP' } {
  return vpn.type === 'wireguard'
    ? { port: vpn.wireguardPort, protocol: 'UDP' }
    : { port: vpn.openvpnPort, protocol: vpn.openvpnProtocol === 'tcp' ? 'TCP' : 'UDP' };
}

function isPort(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

// Five cron fields of digits, ranges, steps, lists or '*' (names such as MON are not needed here).
const CRON_FIELD = /^(\*|[0-9]+(-[0-9]+)?)(\/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(\/[0-9]+)?)*$/;

export function checkVpn(config: PotatoStackConfig, report: Report): void {
  const { vpn } = config;
  const providers: readonly string[] = GLUETUN_PROVIDERS;
  if (typeof vpn.provider !== 'string' || !providers.includes(vpn.provider)) {
    report('vpn.provider', vpn.provider, `one of gluetun's providers: ${GLUETUN_PROVIDERS.join(', ')}`);
  }
  if (vpn.type !== 'wireguard' && vpn.type !== 'openvpn') {
    report('vpn.type', vpn.type, "'wireguard' or 'openvpn'");
  } else if (vpn.type === 'wireguard' && providers.includes(vpn.provider) && !WIREGUARD_PROVIDERS.includes(vpn.provider)) {
    report('vpn.type', vpn.type, `'openvpn' for provider '${vpn.provider}'; gluetun supports WireGuard only for ${WIREGUARD_PROVIDERS.join(', ')}`);
  }
  if (!Array.isArray(vpn.serverCountries) || vpn.serverCountries.some((c) => typeof c !== 'string' || !/^[A-Za-z][A-Za-z .'-]*$/.test(c))) {
    report('vpn.serverCountries', vpn.serverCountries, "a list of country names as gluetun spells them, such as ['Netherlands', 'Switzerland'] (no commas)");
  }
  for (const prop of ['wireguardPort', 'openvpnPort', 'slskdListenPort'] as const) {
    if (!isPort(vpn[prop])) report(`vpn.${prop}`, vpn[prop], 'a port between 1 and 65535');
  }
  if (vpn.openvpnProtocol !== 'udp' && vpn.openvpnProtocol !== 'tcp') {
    report('vpn.openvpnProtocol', vpn.openvpnProtocol, "'udp' or 'tcp'");
  } else if (vpn.type === 'openvpn' && vpn.openvpnProtocol === 'tcp' && OPENVPN_UDP_ONLY_PROVIDERS.includes(vpn.provider)) {
    report('vpn.openvpnProtocol', vpn.openvpnProtocol, `'udp' for provider '${vpn.provider}' (gluetun has no TCP OpenVPN for it)`);
  }
  const { cleanup } = vpn;
  const fields = typeof cleanup.schedule === 'string' ? cleanup.schedule.trim().split(/\s+/) : [];
  if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) {
    report('vpn.cleanup.schedule', cleanup.schedule, "a five-field cron schedule such as '30 4 * * 0'");
  }
  if (typeof cleanup.maxAgeDays !== 'number' || !Number.isInteger(cleanup.maxAgeDays) || cleanup.maxAgeDays < 1 || cleanup.maxAgeDays > 365) {
    report('vpn.cleanup.maxAgeDays', cleanup.maxAgeDays, 'a whole number of days between 1 and 365');
  }
  if (typeof cleanup.dryRun !== 'boolean') report('vpn.cleanup.dryRun', cleanup.dryRun, 'true or false');
}
