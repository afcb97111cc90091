/**
 * Who goes first when the board runs short of memory. The kubelet evicts pods that use more than
 * their request first, and among those the lower priority first; the scheduler lets a pending pod
 * of a higher class preempt lower ones. The kernel's OOM killer does not read priorities: it picks
 * by how far a container is above its request, which the evidence-based requests keep honest.
 */
export interface PriorityTier {
  /** PriorityClass value: higher survives longer. Below the 1,000,000,000 reserved for system classes. */
  readonly value: number;
  readonly description: string;
  /** Whether a pending pod of this class may evict lower ones to fit. */
  readonly preempts: boolean;
}

export const PRIORITY_TIERS = {
  'potatostack-critical': {
    value: 100000,
    description: 'databases, the ingress controller and the VPN pod: what everything else needs, and the killswitch',
    preempts: true,
  },
  'potatostack-apps': {
    value: 10000,
    description: 'the apps with user data and their backups: Nextcloud, Gitea, Kopia',
    preempts: true,
  },
  'potatostack-alerting': {
    value: 1000,
    description: 'metrics and alerts: Prometheus, Alertmanager and the exporters',
    preempts: true,
  },
  'potatostack-optional': {
    value: 100,
    description: 'dashboards, log tooling, management UIs and housekeeping jobs: the first to go, and they never push others out',
    preempts: false,
  },
} as const satisfies Record<string, PriorityTier>;

export type PriorityTierName = keyof typeof PRIORITY_TIERS;

export const PRIORITY_TIER_NAMES = Object.keys(PRIORITY_TIERS) as PriorityTierName[];
