/**
 * The image catalog: every image the stack runs, pinned to an exact version that publishes
 * linux/arm64 (the evidence of each is in lib/config/image-evidence.ts). Workloads can only name an entry of this catalog, so an update bot (or Diun's
 * notification and a one-line edit) bumps a version in exactly one place.
 */
export const DEFAULT_IMAGES = {
  'nginx-proxy-manager': 'docker.io/jc21/nginx-proxy-manager:2.12.6',
  homepage: 'ghcr.io/gethomepage/homepage:v1.4.6',
  nextcloud: 'docker.io/library/nextcloud:31.0.9-apache',
  mariadb: 'docker.io/library/mariadb:10.11.14',
  gitea: 'docker.io/gitea/gitea:1.24.6-rootless',
  postgres: 'docker.io/library/postgres:17.6-alpine',
  kopia: 'docker.io/kopia/kopia:0.21.1',
  gluetun: 'docker.io/qmcgaw/gluetun:v3.40.0',
  // home-operations' build runs as any non-root UID with a read-only root (linuxserver's needs root and s6).
  qbittorrent: 'ghcr.io/home-operations/qbittorrent:5.1.2',
  slskd: 'docker.io/slskd/slskd:0.23.2',
  busybox: 'docker.io/library/busybox:1.37.0',
  portainer: 'docker.io/portainer/portainer-ce:2.33.1',
  'uptime-kuma': 'docker.io/louislam/uptime-kuma:2.0.0-slim',
  dozzle: 'docker.io/amir20/dozzle:v8.14.0',
  diun: 'docker.io/crazymax/diun:4.30.0',
  prometheus: 'quay.io/prometheus/prometheus:v3.5.0',
  alertmanager: 'quay.io/prometheus/alertmanager:v0.28.1',
  grafana: 'docker.io/grafana/grafana:12.1.1',
  loki: 'docker.io/grafana/loki:3.5.5',
  'fluent-bit': 'cr.fluentbit.io/fluent/fluent-bit:4.0.9',
  'node-exporter': 'quay.io/prometheus/node-exporter:v1.9.1',
  'kube-state-metrics': 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0',
  netdata: 'docker.io/netdata/netdata:v2.6.3',
  thanos: 'quay.io/thanos/thanos:v0.39.2',
} as const;

export type ImageName = keyof typeof DEFAULT_IMAGES;

export const IMAGE_NAMES = Object.keys(DEFAULT_IMAGES) as ImageName[];

/** `registry/repository:tag` with an exact tag (optionally `@sha256:` digest), never `latest`. */
export const IMAGE_REFERENCE_PATTERN = /^[a-z0-9.-]+(?::[0-9]+)?\/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?$/;

/** Tags that move: they make `IfNotPresent` keep a stale image forever. */
export const FLOATING_TAGS = ['latest', 'stable', 'main', 'master', 'nightly', 'edge', 'develop'];
