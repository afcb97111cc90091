import type { ComponentName } from './components';

/** A starting set of components for a board size; the operator can still switch each one. */
export interface ProfileSpec {
  /** What the profile is for, shown in reports and errors. */
  readonly description: string;
  /** Components the profile turns off by default (each can be turned back on in `components`). */
  readonly leavesOut: readonly ComponentName[];
  /** Whether k3s's metrics-server runs, unless `node.metricsServer` says otherwise. */
  readonly metricsServer: boolean;
}

/**
 * The profiles. `board-2gb` is what fits a 2 GB Le Potato with every request at its evidence
 * (lib/config/evidence.ts); `full` is every seed service, for a board with more memory (the budget
 * report says how much).
 */
export const PROFILES = {
  'board-2gb': {
    description: 'what fits a 2 GB Le Potato: Nextcloud, Gitea, backups and the VPN downloads',
    leavesOut: [
      'homepage',
      'slskd',
      'portainer',
      'uptime-kuma',
      'dozzle',
      'diun',
      'prometheus',
      'alertmanager',
      'grafana',
      'loki',
      'fluent-bit',
      'node-exporter',
      'kube-state-metrics',
    ],
    // Its manifest requests 70Mi for ~9Mi of use (k3s-io/k3s#1554): on this board that request
    // is a whole app. `kubectl top` and the CLI's memory column go without it.
    metricsServer: false,
  },
  full: {
    description: 'every seed service: needs a board with more memory than the 2 GB Le Potato',
    leavesOut: [],
    metricsServer: true,
  },
} as const satisfies Record<string, ProfileSpec>;

export type ProfileName = keyof typeof PROFILES;

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];
