import { DEFAULT_IMAGES, ImageName } from './images';

/**
 * Whether an image tag is published for linux/arm64 (the Le Potato):
 * - `yes`: the upstream source at the deployed tag builds and pushes that tag for linux/arm64;
 * - `no`: it does not (the board would sit in ImagePullBackOff); synth refuses such an image;
 * - `unconfirmed`: arm64 builds are shown only for another version of the source, or the push of
 *   the tag itself is not shown. Allowed, and listed in docs/architecture.md for the operator to check.
 */
export type Arm64Status = 'yes' | 'no' | 'unconfirmed';

/** One image's arm64 evidence: the upstream source that shows the tag and its platforms. */
export interface ImageEvidence {
  /** The exact reference the row speaks for: a version bump needs a new row. */
  readonly image: string;
  readonly arm64: Arm64Status;
  /** Upstream repository, tag or commit, and path. */
  readonly source: string;
  /** One line: what the source shows. */
  readonly shows: string;
}

/** arm64 evidence of every image of the catalog (lib/config/images.ts), researched 2026-11/12. */
export const IMAGE_EVIDENCE: Readonly<Record<ImageName, ImageEvidence>> = {
  'nginx-proxy-manager': {
    image: DEFAULT_IMAGES['nginx-proxy-manager'],
    arm64: 'yes',
    source: 'NginxProxyManager/nginx-proxy-manager tag v2.12.6 (356eaa0): Jenkinsfile, scripts/buildx',
    shows: 'the release build pushes jc21/nginx-proxy-manager:2.12.6 with buildx for linux/amd64, linux/arm64, linux/arm/7',
  },
  homepage: {
    image: DEFAULT_IMAGES.homepage,
    arm64: 'yes',
    source: 'gethomepage/homepage tag v1.4.6 (c6ad937): .github/workflows/docker-publish.yml',
    shows: 'runs on v*.*.* tags, tags the image v{{version}}, platforms linux/amd64, linux/arm64',
  },
  nextcloud: {
    image: DEFAULT_IMAGES.nextcloud,
    arm64: 'yes',
    source: 'docker-library/official-images library/nextcloud (added a2c5e29, listed at ca50cfd)',
    shows: 'tag 31.0.9-apache with Architectures amd64, arm32v5, arm32v7, arm64v8, ...',
  },
  mariadb: {
    image: DEFAULT_IMAGES.mariadb,
    arm64: 'yes',
    source: 'docker-library/official-images library/mariadb (added 8b07bfa, listed at 05a3b89)',
    shows: 'tag 10.11.14 with Architectures amd64, arm64v8, ppc64le, s390x',
  },
  gitea: {
    image: DEFAULT_IMAGES.gitea,
    arm64: 'yes',
    source: 'go-gitea/gitea tag v1.24.6, as the Go module code.gitea.io/gitea@v1.24.6: .github/workflows/release-tag-version.yml lines 4-8, 119-163',
    shows: 'v1.* tags run the docker-rootless job: gitea/gitea with suffix -rootless, tagged with the version, Dockerfile.rootless built and pushed for linux/amd64, linux/arm64, linux/riscv64',
  },
  postgres: {
    image: DEFAULT_IMAGES.postgres,
    arm64: 'yes',
    source: 'docker-library/official-images library/postgres (added 4e093fc, listed at d4ee80f)',
    shows: 'tag 17.6-alpine with arm64v8 among its Architectures',
  },
  kopia: {
    image: DEFAULT_IMAGES.kopia,
    arm64: 'yes',
    source: 'kopia/kopia tag v0.21.1 (0733cb4): tools/docker-publish.sh, .github/workflows/make.yml',
    shows: 'v* tags run docker buildx --platform linux/amd64,linux/arm64,linux/arm/v7 -t kopia/kopia:0.21.1',
  },
  gluetun: {
    image: DEFAULT_IMAGES.gluetun,
    arm64: 'yes',
    source: 'qdm12/gluetun tag v3.40.0 (e890c50): .github/workflows/ci.yml',
    shows: 'releases publish v{{major}}.{{minor}}.{{patch}} for platforms including linux/arm64',
  },
  qbittorrent: {
    image: DEFAULT_IMAGES.qbittorrent,
    arm64: 'yes',
    source: 'home-operations/containers 480b90d (#575): apps/qbittorrent/docker-bake.hcl, .github/workflows/app-builder.yaml',
    shows: 'VERSION=5.1.2, image-all platforms linux/amd64, linux/arm64 (its README: tags are not immutable, pin a digest to freeze)',
  },
  slskd: {
    image: DEFAULT_IMAGES.slskd,
    arm64: 'yes',
    source: 'slskd/slskd tag 0.23.2 (0b7cf17): .github/workflows/ci.yml',
    shows: 'a release pushes slskd/slskd:${TAG} for linux/amd64, linux/arm64, linux/arm/v7',
  },
  busybox: {
    image: DEFAULT_IMAGES.busybox,
    arm64: 'yes',
    source: 'docker-library/official-images library/busybox (added 06e2404)',
    shows: 'tag 1.37.0 with arm64v8 among its Architectures',
  },
  portainer: {
    image: DEFAULT_IMAGES.portainer,
    arm64: 'unconfirmed',
    source:
      'portainer/k8s PR #188 (version bump to 2.33.1); portainer/portainer as stored ends at tag 2.23.0 (369598bc9): Makefile line 33, build/docker-extension/Makefile line 20',
    shows: 'that 2.33.1 was released; the public repository only builds portainer-ce for the local machine (the release pipeline is not public), so no source shows its platforms',
  },
  'uptime-kuma': {
    image: DEFAULT_IMAGES['uptime-kuma'],
    arm64: 'yes',
    source: 'louislam/uptime-kuma tag 2.0.0 (124e79b): extra/release/final.mjs, extra/release/lib.mjs',
    shows: 'the release builds 2.0.0-slim (with next-slim, 2-slim) for the default platforms linux/amd64, linux/arm64, linux/arm/v7',
  },
  dozzle: {
    image: DEFAULT_IMAGES.dozzle,
    arm64: 'yes',
    source: 'amir20/dozzle tag v8.14.0 (ab86a6c): .github/workflows/deploy.yml',
    shows: 'v* tags, semver with prefix v, platforms linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8',
  },
  diun: {
    image: DEFAULT_IMAGES.diun,
    arm64: 'yes',
    source: 'crazy-max/diun tag v4.30.0 (d3f721e): docker-bake.hcl (image-all), .github/workflows/build.yml',
    shows: 'the semver tag {{version}} is built for platforms including linux/arm64',
  },
  prometheus: {
    image: DEFAULT_IMAGES.prometheus,
    arm64: 'yes',
    source: 'prometheus/prometheus tag v3.5.0 (8be3a956): Makefile line 15, .github/workflows/ci.yml publish_release',
    shows: 'DOCKER_ARCHS ?= amd64 armv7 arm64 ppc64le s390x',
  },
  alertmanager: {
    image: DEFAULT_IMAGES.alertmanager,
    arm64: 'yes',
    source: 'prometheus/alertmanager tag v0.28.1 (b2099eaa): Makefile line 15',
    shows: 'DOCKER_ARCHS ?= amd64 armv7 arm64 ppc64le s390x',
  },
  grafana: {
    image: DEFAULT_IMAGES.grafana,
    arm64: 'unconfirmed',
    source:
      'grafana/grafana .github/workflows/release-build.yml (stored at 0030f686, newer than v12.1.1); pkg/build/daggerbuild/scripts/drone_build_tag_grafana.sh line 25 (stored at 1ac24dd3); neither is pinned to v12.1.1, which the Go proxy does not serve',
    shows: 'tag builds make a linux/arm64 image (a build-docker-linux-arm64 job; docker:grafana:linux/arm64 into dist/), but no stored file shows the push of grafana/grafana:12.1.1',
  },
  loki: {
    image: DEFAULT_IMAGES.loki,
    arm64: 'yes',
    source: 'grafana/loki tag v3.5.5 (5aa8bd27): .github/workflows/patch-release-pr.yml line 568',
    shows: 'the loki image matrix includes linux/arm64',
  },
  'fluent-bit': {
    image: DEFAULT_IMAGES['fluent-bit'],
    arm64: 'yes',
    source: 'fluent/fluent-bit tag v4.0.9 (5ab8f149): .github/workflows/call-build-images.yaml line 91',
    shows: 'the image matrix builds amd64, arm64, arm/v7',
  },
  'node-exporter': {
    image: DEFAULT_IMAGES['node-exporter'],
    arm64: 'yes',
    source: 'prometheus/node_exporter tag v1.9.1 (f2ec547b): Makefile line 18',
    shows: 'DOCKER_ARCHS includes arm64',
  },
  'kube-state-metrics': {
    image: DEFAULT_IMAGES['kube-state-metrics'],
    arm64: 'yes',
    source: 'kubernetes/kube-state-metrics tag v2.16.0 (291a9628): Makefile line 14, cloudbuild.yaml',
    shows: 'ALL_ARCH = amd64 arm arm64 ppc64le s390x',
  },
  netdata: {
    image: DEFAULT_IMAGES.netdata,
    arm64: 'yes',
    source: 'netdata/netdata tag v2.6.3 (48d3b0ba): .github/data/distros.yml line 48',
    shows: 'docker_arches includes arm64',
  },
  thanos: {
    image: DEFAULT_IMAGES.thanos,
    arm64: 'yes',
    source: 'thanos-io/thanos tag v0.39.2 (36681afb): Makefile line 37',
    shows: 'DOCKER_ARCHS ?= amd64 arm64 ppc64le',
  },
};

/**
 * The Flux release docs/gitops.md installs (`flux install --version`). Its CLI deploys the
 * controllers below; the stack only sizes and patches them (lib/gitops/flux.ts).
 */
export const FLUX_VERSION = 'v2.9.4';

/** Images that another tool installs from the operator's command, which the stack sizes or patches. */
export interface ExternalImageEvidence extends ImageEvidence {
  /** What puts the image on the board. */
  readonly installedBy: string;
}

export const EXTERNAL_IMAGE_EVIDENCE: Readonly<Record<string, ExternalImageEvidence>> = {
  'source-controller': {
    image: 'ghcr.io/fluxcd/source-controller:v1.9.4',
    installedBy: `flux install --version=${FLUX_VERSION} (gitops.flux)`,
    arm64: 'yes',
    source:
      'fluxcd/flux2 tag v2.9.4 (889be9d): manifests/bases/source-controller/kustomization.yaml; fluxcd/source-controller tag v1.9.4, as the Go module github.com/fluxcd/source-controller@v1.9.4: .goreleaser.yaml lines 17-20, .github/workflows/release.yaml line 18 (fluxcd/gha-workflows controller-release.yaml@v0.11.0, read at v0.4.0 and on main: the same platforms line)',
    shows: 'Flux v2.9.4 installs the v1.9.4 release; its release notes name linux/amd64, linux/arm64 and linux/arm/v7, and the shared release workflow builds linux/amd64,linux/arm/v7,linux/arm64',
  },
  'kustomize-controller': {
    image: 'ghcr.io/fluxcd/kustomize-controller:v1.9.4',
    installedBy: `flux install --version=${FLUX_VERSION} (gitops.flux)`,
    arm64: 'yes',
    source:
      'fluxcd/flux2 tag v2.9.4 (889be9d): manifests/bases/kustomize-controller/kustomization.yaml; fluxcd/kustomize-controller tag v1.9.4 (1324b61): .goreleaser.yaml line 20, .github/workflows/release.yaml (fluxcd/gha-workflows controller-release.yaml)',
    shows: 'Flux v2.9.4 installs the v1.9.4 release; its release notes name linux/amd64, linux/arm64 and linux/arm/v7, and the shared release workflow builds linux/amd64,linux/arm/v7,linux/arm64',
  },
};

/** An image a synthesized workload would pull that its evidence row says has no arm64 build. */
export interface RefusedImage {
  readonly workload: string;
  readonly container: string;
  readonly image: string;
}

/** Containers (init containers included) of every workload among the objects that pull an image whose row says no arm64. */
export function imagesWithoutArm64(manifests: readonly any[], evidence: Readonly<Record<string, ImageEvidence>> = IMAGE_EVIDENCE): RefusedImage[] {
  const refused = new Set(Object.values(evidence).filter((row) => row.arm64 === 'no').map((row) => row.image));
  const found: RefusedImage[] = [];
  for (const m of manifests) {
    const pod = m.kind === 'CronJob' ? m.spec?.jobTemplate?.spec?.template?.spec : m.spec?.template?.spec;
    if (!pod) continue;
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      if (refused.has(c.image)) found.push({ workload: `${m.kind} ${m.metadata?.namespace ?? ''}/${m.metadata?.name}`, container: c.name, image: c.image });
    }
  }
  return found;
}

/** Throws when a synthesized workload would pull an image without a linux/arm64 build. */
export function assertImagesRunOnArm64(manifests: readonly any[], evidence: Readonly<Record<string, ImageEvidence>> = IMAGE_EVIDENCE): void {
  const refused = imagesWithoutArm64(manifests, evidence);
  if (refused.length === 0) return;
  const lines = refused.map((r) => `${r.workload}, container ${r.container}: image '${r.image}' publishes no linux/arm64 build (lib/config/image-evidence.ts)`);
  throw new Error(`images that cannot run on the arm64 board:\n  ${lines.join('\n  ')}\nturn the component off, or set images.<name> to a tag that publishes linux/arm64`);
}
