import { Construct } from 'constructs';
import type { ComponentName, PotatoStackConfig } from '../../config';
import type { VolumeMount } from '../../constructs';
import { PotatoChart, ScheduledJob } from '../../constructs';
import { TORRENT_FOLDERS } from './qbittorrent';
import { SOULSEEK_FOLDERS } from './slskd';

/** An incomplete-downloads folder: the claim it lives on, the sub-folder, and the app that writes it. */
export interface IncompleteFolder {
  readonly claim: string;
  readonly subPath: string;
  readonly component: ComponentName;
}

/** The only folders the cleanup may touch: partial downloads of qBittorrent and slskd. */
export const INCOMPLETE_FOLDERS: readonly IncompleteFolder[] = [
  { claim: 'torrents', subPath: TORRENT_FOLDERS.incomplete, component: 'vpn' },
  { claim: 'soulseek', subPath: SOULSEEK_FOLDERS.incomplete, component: 'slskd' },
];

/** The incomplete folders of the apps that run. */
export function incompleteFolders(config: PotatoStackConfig): IncompleteFolder[] {
  return INCOMPLETE_FOLDERS.filter((f) => config.components[f.component].enabled);
}

/** Mount point of an incomplete folder inside the cleanup container. */
export function cleanupMountPath(folder: IncompleteFolder): string {
  return `/cleanup/${folder.claim}-${folder.subPath}`;
}

export interface CleanupScriptOptions {
  readonly directories: readonly string[];
  readonly maxAgeDays: number;
  readonly dryRun: boolean;
}

/**
 * busybox sh: under each directory, removes files not written for more than maxAgeDays days,
 * then the empty folders left behind, logging every path. Dry run only logs. A directory that
 * is missing (not mounted) fails the run instead of silently doing nothing.
 */
export function cacheCleanupScript(options: CleanupScriptOptions): string {
  const verb = options.dryRun ? 'would remove' : 'removed';
  // -exec rm instead of -delete: not every busybox build has -delete.
  const actFiles = options.dryRun ? '-print' : '-print -exec rm -f {} +';
  const actFolders = options.dryRun ? '-print' : '-print -exec rmdir {} +';
  return [
    'set -eu',
    `age=${options.maxAgeDays}`,
    `echo "cache cleanup: files untouched for more than $age days${options.dryRun ? ' (dry run: nothing is removed)' : ''}"`,
    'total=0',
    `for dir in ${options.directories.map((d) => `'${d}'`).join(' ')}; do`,
    '  if [ ! -d "$dir" ]; then echo "$dir is missing: is the volume mounted?" >&2; exit 1; fi',
    `  files=$(find "$dir" -mindepth 1 -type f -mtime +"$age" ${actFiles})`,
    `  [ -z "$files" ] || printf '%s\\n' "$files" | sed 's/^/${verb} file /'`,
    '  count=$(printf "%s" "$files" | grep -c "" || true)',
    '  total=$((total + count))',
    // Deepest first, so a folder emptied by removing its sub-folders goes too; only stale ones.
    `  find "$dir" -mindepth 1 -depth -type d -empty -mtime +"$age" ${actFolders} | sed 's/^/${verb} folder /'`,
    'done',
    `echo "cache cleanup done: $total file(s) ${options.dryRun ? 'would be removed' : 'removed'}"`,
    '',
  ].join('\n');
}

/** Weekly CronJob that clears stale partial downloads; it can only see the incomplete folders. */
export class CacheCleanup extends Construct {
  constructor(scope: Construct, id: string, props: { namespace: string }) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { cleanup } = chart.config.vpn;
    const folders = incompleteFolders(chart.config);
    const volumes = [...new Set(folders.map((f) => f.claim))].map((claim) => ({ name: claim, claim }));
    // subPath mounts: completed downloads are not in the container's filesystem at all.
    const mounts: VolumeMount[] = folders.map((f) => ({ volume: f.claim, subPath: f.subPath, path: cleanupMountPath(f) }));
    new ScheduledJob(this, 'Job', {
      // Housekeeping: it may wait for memory, it never pushes the VPN pod's neighbours out.
      priority: 'potatostack-optional',
      name: 'cache-cleanup',
      namespace: props.namespace,
      role: 'maintenance',
      schedule: cleanup.schedule,
      runAs: { uid: 1000, gid: 1000 },
      volumes,
      activeDeadlineSeconds: 1800,
      containers: [
        {
          name: 'cache-cleanup',
          image: 'busybox',
          size: chart.size('vpn', 'cache-cleanup'),
          command: ['/bin/sh', '-c', cacheCleanupScript({ directories: folders.map(cleanupMountPath), maxAgeDays: cleanup.maxAgeDays, dryRun: cleanup.dryRun })],
          mounts,
        },
      ],
    });
  }
}
