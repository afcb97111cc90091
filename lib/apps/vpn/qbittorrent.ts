import type { LongRunningContainerProps, PotatoChart, RunToCompletionContainerProps } from '../../constructs';
import { httpProbe, startupWindow } from '../../constructs';

export const QBITTORRENT_WEB_PORT = 8080;
/** Where the torrents volume (cache HDD) is mounted in the pod. */
export const TORRENTS_MOUNT = '/downloads';
/** Folders of the torrents volume: partial data while downloading, finished torrents after. */
export const TORRENT_FOLDERS = { incomplete: 'incomplete', complete: 'complete' } as const;
/** qBittorrent's settings file under its config volume (XDG_CONFIG_HOME=/config in the image). */
export const QBITTORRENT_CONF = '/config/qBittorrent/qBittorrent.conf';

/**
 * qBittorrent's "Simple pread/pwrite" disk I/O (the DiskIOType enum's name as qBittorrent 5.x stores
 * it in [BitTorrent] Session\DiskIOType; 4.x has only Default, MMap and Posix).
 */
export const QBITTORRENT_DISK_IO_TYPE = 'SimplePreadPwrite';

/** One `key=value` of a Qt ini file, in its `[section]`. */
export interface IniSetting {
  readonly section: string;
  readonly key: string;
  readonly value: string;
}

/** The settings this stack owns; everything else in the file stays the operator's. */
export function qbittorrentSettings(): IniSetting[] {
  const bt = (key: string, value: string) => ({ section: 'BitTorrent', key: `Session\\${key}`, value });
  const pref = (key: string, value: string) => ({ section: 'Preferences', key, value });
  return [
    // Bound to gluetun's tunnel interface: if tun0 is gone, libtorrent has nothing to send on.
    bt('Interface', 'tun0'),
    bt('InterfaceName', 'tun0'),
    bt('DefaultSavePath', `${TORRENTS_MOUNT}/${TORRENT_FOLDERS.complete}`),
    bt('TempPathEnabled', 'true'),
    bt('TempPath', `${TORRENTS_MOUNT}/${TORRENT_FOLDERS.incomplete}`),
    // Partial files end in .!qB, so the cache cleanup can tell them apart at a glance.
    bt('AddExtensionToIncompleteFiles', 'true'),
    // libtorrent 2's default memory-mapped disk I/O lets the page cache of every torrent file
    // count against the container (working sets of GBs); plain pread/pwrite keeps it to buffers.
    // qBittorrent >= 5.0 reads this name; older versions fall back to the default silently.
    bt('DiskIOType', QBITTORRENT_DISK_IO_TYPE),
    pref('WebUI\\Port', String(QBITTORRENT_WEB_PORT)),
    // The image's defaults skip the login for private ranges, which includes Traefik's pod.
    pref('WebUI\\AuthSubnetWhitelistEnabled', 'false'),
    // Nothing to map behind a VPN without port forwarding.
    pref('Connection\\UPnP', 'false'),
  ];
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * POSIX sh + awk (busybox) that sets each key in its section of an ini file and leaves every
 * other line as it is: the file is the operator's, only these keys are the stack's. Creates
 * the file (and section) when missing; rewrites it only when something changed.
 */
export function iniEditScript(file: string, settings: readonly IniSetting[]): string {
  const calls = settings.map((s) => `set_key ${shellQuote(s.section)} ${shellQuote(s.key)} ${shellQuote(s.value)}`);
  return [
    'set -eu',
    `conf=${shellQuote(file)}`,
    'mkdir -p "$(dirname "$conf")"',
    '[ -f "$conf" ] || : > "$conf"',
    'set_key() {',
    '  tmp="$conf.potatostack-tmp"',
    // ENVIRON instead of -v: awk would interpret the backslashes of keys such as Session\\Interface.
    `  SECTION="$1" KEY="$2" VALUE="$3" awk '`,
    '    BEGIN { s = "[" ENVIRON["SECTION"] "]"; k = ENVIRON["KEY"] "="; line = k ENVIRON["VALUE"]; cur = ""; done = 0 }',
    '    { sub(/\\r$/, "") }',
    '    /^\\[.*\\]$/ { if (cur == s && !done) { print line; done = 1 } cur = $0; print; next }',
    '    cur == s && index($0, k) == 1 { if (!done) { print line; done = 1 } next }',
    '    { print }',
    '    END { if (!done) { if (cur != s) { print ""; print s } print line } }',
    `  ' "$conf" > "$tmp"`,
    '  if cmp -s "$tmp" "$conf"; then rm -f "$tmp"; else mv "$tmp" "$conf"; echo "set [$1] $2=$3"; fi',
    '}',
    ...calls,
    '',
  ].join('\n');
}

/** Init step (busybox, as the app's UID) that applies qbittorrentSettings to the config volume. */
export function qbittorrentSettingsStep(): { script: string; mounts: NonNullable<RunToCompletionContainerProps['mounts']> } {
  return {
    script: iniEditScript(QBITTORRENT_CONF, qbittorrentSettings()),
    mounts: [{ volume: 'qbittorrent-config', path: '/config' }],
  };
}

export function qbittorrentContainer(chart: PotatoChart): LongRunningContainerProps {
  const web = (failureThreshold: number) => httpProbe('/', 'qbt-web', { periodSeconds: 30, failureThreshold });
  return {
    name: 'qbittorrent',
    image: 'qbittorrent',
    size: chart.size('vpn', 'qbittorrent'),
    env: {
      TZ: chart.config.timezone,
      QBT_WEBUI_PORT: String(QBITTORRENT_WEB_PORT),
      QBT_CONFIRM_LEGAL_NOTICE: '1',
    },
    ports: [{ name: 'qbt-web', port: QBITTORRENT_WEB_PORT }],
    mounts: [
      { volume: 'qbittorrent-config', path: '/config' },
      { volume: 'torrents', path: TORRENTS_MOUNT },
      { volume: 'qbittorrent-tmp', path: '/tmp' },
    ],
    // Resuming many torrents from the HDD can take a while after a restart.
    probes: { startup: startupWindow(web(3), 5), liveness: web(4) },
  };
}
