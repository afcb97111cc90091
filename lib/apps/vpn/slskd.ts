import type { ContainerSize } from '../../config';
import type { EnvValue, LongRunningContainerProps, PotatoChart } from '../../constructs';
import { httpProbe, memoryLimitBytes, startupWindow } from '../../constructs';

export const SLSKD_WEB_PORT = 5030;
/** Where the soulseek volume (cache HDD) is mounted. */
export const SOULSEEK_MOUNT = '/soulseek';
export const SOULSEEK_FOLDERS = { incomplete: 'incomplete', downloads: 'downloads', shared: 'shared' } as const;
/** Secret with slskd's logins and JWT signing key (created out of band, never synthesized). */
export const SLSKD_SECRET = 'slskd';
/** Keys of SLSKD_SECRET, named after the slskd environment variables they feed. */
export const SLSKD_SECRET_KEYS = ['SLSKD_USERNAME', 'SLSKD_PASSWORD', 'SLSKD_JWT_KEY', 'SLSKD_SLSK_USERNAME', 'SLSKD_SLSK_PASSWORD'] as const;

/** Share of the container's memory limit the .NET GC heap may use; the rest is runtime, JIT and native buffers. */
export const SLSKD_HEAP_FRACTION = 0.75;

/**
 * `DOTNET_GCHeapHardLimit` (hexadecimal bytes) for a container size: the image ships a limit
 * far above the container's, so the GC would let the heap grow until the kernel OOM-kills it.
 */
export function dotnetHeapHardLimit(size: ContainerSize, fraction = SLSKD_HEAP_FRACTION): string {
  const heap = Math.floor((memoryLimitBytes(size) * fraction) / (1024 * 1024)) * 1024 * 1024;
  return `0x${heap.toString(16).toUpperCase()}`;
}

export function slskdContainer(chart: PotatoChart): LongRunningContainerProps {
  const size = chart.size('slskd', 'slskd');
  const secrets: Record<string, EnvValue> = {};
  for (const key of SLSKD_SECRET_KEYS) secrets[key] = { secret: SLSKD_SECRET, key, optional: false };
  const health = (failureThreshold: number) => httpProbe('/health', 'slskd-web', { periodSeconds: 30, failureThreshold });
  return {
    name: 'slskd',
    image: 'slskd',
    size,
    env: {
      TZ: chart.config.timezone,
      DOTNET_GCHeapHardLimit: dotnetHeapHardLimit(size),
      SLSKD_APP_DIR: '/app',
      SLSKD_HTTP_PORT: String(SLSKD_WEB_PORT),
      // TLS ends at the proxy; slskd's own HTTPS listener would be one more open port.
      SLSKD_NO_HTTPS: 'true',
      SLSKD_SLSK_LISTEN_PORT: String(chart.config.vpn.slskdListenPort),
      SLSKD_REMOTE_CONFIGURATION: 'false',
      SLSKD_DOWNLOADS_DIR: `${SOULSEEK_MOUNT}/${SOULSEEK_FOLDERS.downloads}`,
      SLSKD_INCOMPLETE_DIR: `${SOULSEEK_MOUNT}/${SOULSEEK_FOLDERS.incomplete}`,
      SLSKD_SHARED_DIR: `${SOULSEEK_MOUNT}/${SOULSEEK_FOLDERS.shared}`,
      // slskd 0.23 keeps the share index in memory unless told otherwise (Options.cs ShareCacheOptions);
      // on disk it costs lookups a little CPU instead of RAM that grows with the shares.
      SLSKD_SHARE_CACHE_STORAGE_MODE: 'disk',
      // Fewer concurrent scan workers than cores: the scan is bound by one USB disk anyway.
      SLSKD_SHARE_CACHE_WORKERS: '2',
      ...secrets,
    },
    ports: [{ name: 'slskd-web', port: SLSKD_WEB_PORT }],
    mounts: [
      { volume: 'slskd-data', path: '/app' },
      { volume: 'soulseek', path: SOULSEEK_MOUNT },
      { volume: 'slskd-tmp', path: '/tmp' },
      // The single-file .NET bundle extracts its native parts here (DOTNET_BUNDLE_EXTRACT_BASE_DIR).
      { volume: 'slskd-dotnet', path: '/.net' },
    ],
    // The first start scans the shares; give it time before liveness counts.
    probes: { startup: startupWindow(health(3), 10), liveness: health(4) },
  };
}
