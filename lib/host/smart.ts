import type { PotatoStackConfig } from '../config';

/**
 * SMART health of the HDDs, read on the storage node by Debian's own parts: smartmontools'
 * `smartctl` and the SMART collector of `prometheus-node-exporter-collectors` (the
 * prometheus-community textfile scripts as Debian packages them), which a systemd timer of that
 * package runs every 15 minutes as root. It writes its metrics into node-exporter's textfile
 * directory; the node-exporter DaemonSet serves that file. No privileged pod, and no image:
 * smartctl-exporter publishes no linux/arm64 image (lib/config/image-evidence.ts).
 */

/** Debian packages the host needs. The collectors package recommends more tools (ipmitool, nvme-cli, ...) that are not installed. */
export const SMART_PACKAGES = ['smartmontools', 'prometheus-node-exporter-collectors'] as const;

/** The package's timer that runs the SMART collector (`OnUnitActiveSec=15min`) and its service. */
export const SMART_TIMER = 'prometheus-node-exporter-smartmon.timer';
export const SMART_SERVICE = 'prometheus-node-exporter-smartmon.service';

/**
 * Units of the packages that must never run on the board, masked before the packages are
 * installed so that their postinst neither starts nor enables them (Debian's helpers leave a mask
 * the admin made alone):
 * - Debian's own node-exporter (a dependency of the collectors package) would take port 9100 on
 *   the host network, where the node-exporter DaemonSet listens;
 * - the apt collector loads the whole package cache in Python every 15 minutes, tens of MiB on a
 *   2 GB board, for metrics no rule of the stack reads.
 */
export const SMART_MASKED_UNITS = ['prometheus-node-exporter.service', 'prometheus-node-exporter-apt.timer'] as const;

/** Where the package's SMART service writes, and where node-exporter's textfile collector reads. */
export const SMART_TEXTFILE_DIR = '/var/lib/prometheus/node-exporter';
export const SMART_TEXTFILE = 'smartmon.prom';

/** The collector's runs are 15 minutes apart; data older than four missed runs is stale. */
export const SMART_DATA_MAX_AGE_SECONDS = 3600;

/**
 * Metric names the SMART collector writes (`smartmon_` + name): health is 1 when smartctl's
 * overall self-assessment says PASSED, 0 when it says anything else, and also 0 when smartctl
 * printed no verdict at all (the script's default), so health counts only where SMART is
 * enabled; `device_active` is 0 for a
 * disk in standby, whose data the collector skips so as not to spin it up. Attributes are
 * `smartmon_<attribute name in lower case>_raw_value`, labelled `disk` (`/dev/sda`) and `type` (`sat`).
 */
export const SMARTMON_METRICS = {
  healthy: 'smartmon_device_smart_healthy',
  /** 1 when smartctl reads SMART and it is on; 0 for a disk behind a bridge without pass-through, or with SMART off. */
  enabled: 'smartmon_device_smart_enabled',
  active: 'smartmon_device_active',
  info: 'smartmon_device_info',
  temperature: 'smartmon_temperature_celsius_raw_value',
  powerOnHours: 'smartmon_power_on_hours_raw_value',
} as const;

/** Attributes whose raw counts grow when a disk remaps or loses sectors (they should stay 0). */
export const SECTOR_ATTRIBUTES = ['reallocated_sector_ct', 'current_pending_sector', 'offline_uncorrectable'] as const;
/** Cable and bridge trouble rather than the platters: worth a look on USB disks. */
export const LINK_ATTRIBUTES = ['udma_crc_error_count'] as const;

export const rawValueMetric = (attribute: string) => `smartmon_${attribute}_raw_value`;

/** PromQL selector of node-exporter's modification time of the SMART file. */
export const SMART_TEXTFILE_MTIME = `node_textfile_mtime_seconds{file=~"(.*/)?${SMART_TEXTFILE.replace(/\./g, '\\\\.')}"}`;

/** Whether SMART data is collected: the prop, and node-exporter to serve it. */
export function smartEnabled(config: PotatoStackConfig): boolean {
  return config.monitoring.smart && config.components['node-exporter'].enabled;
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * setup-host.sh lines. On: mask the units that must not run, install the packages (once), enable
 * and start the SMART timer. Off: stop the timer an earlier run enabled; the packages stay (the
 * operator may use smartctl), nothing else changes.
 */
export function smartSetupLines(config: PotatoStackConfig): string[] {
  if (!smartEnabled(config)) {
    return [
      '# SMART data is off (monitoring.smart, or node-exporter off): stop the timer an earlier run enabled',
      `if systemctl is-enabled --quiet ${SMART_TIMER} 2>/dev/null; then systemctl disable --now ${SMART_TIMER}; fi`,
    ];
  }
  const packages = SMART_PACKAGES.join(' ');
  return [
    '# SMART data: Debian\'s smartmontools and its SMART timer write node-exporter\'s textfile directory.',
    '# Masked first, so that installing the packages starts neither a second node-exporter on :9100',
    '# nor the apt collector.',
    ...SMART_MASKED_UNITS.map((unit) => `systemctl mask ${quote(unit)}`),
    `if ! dpkg -s ${packages} >/dev/null 2>&1; then`,
    `  apt-get install -y --no-install-recommends ${packages}`,
    'fi',
    `systemctl enable --now ${SMART_TIMER}`,
  ];
}
