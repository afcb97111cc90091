import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  COMPONENT_NAMES,
  DEFAULT_IMAGES,
  EXTERNAL_IMAGE_EVIDENCE,
  FLUX_VERSION,
  IMAGE_EVIDENCE,
  IMAGE_NAMES,
  ImageEvidence,
  PotatoStackOverrides,
  assertImagesRunOnArm64,
  imagesWithoutArm64,
  resolveConfig,
} from '../lib/config';
import { imageEvidenceTables } from '../lib/docs';
import { FLUX_CONTROLLERS } from '../lib/gitops/flux';
import { buildApp, manifestsOf } from '../lib/stack';

const manifests = (overrides: PotatoStackOverrides) => manifestsOf(buildApp(resolveConfig(overrides), '/nonexistent-outdir'));
const imagesOf = (objects: readonly any[]) =>
  objects.flatMap((m) => {
    const pod = m.kind === 'CronJob' ? m.spec?.jobTemplate?.spec?.template?.spec : m.spec?.template?.spec;
    return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].map((c: any) => c.image as string);
  });

/** Every component on, in both ingress modes: each image any of them can pull. */
const EVERYTHING_ON: PotatoStackOverrides[] = ['traefik', 'nginx-proxy-manager'].map((mode) => ({
  profile: 'full',
  ingress: { mode: mode as 'traefik' | 'nginx-proxy-manager' },
  components: Object.fromEntries(COMPONENT_NAMES.filter((c) => c !== 'traefik' && c !== 'nginx-proxy-manager' && c !== 'flux').map((c) => [c, { enabled: true }])),
}));

describe('every image has one evidence row', () => {
  test('one row per catalog image, for exactly the catalog reference', () => {
    expect(Object.keys(IMAGE_EVIDENCE).sort()).toEqual([...IMAGE_NAMES].sort());
    for (const name of IMAGE_NAMES) expect([name, IMAGE_EVIDENCE[name].image]).toEqual([name, DEFAULT_IMAGES[name]]);
  });

  test('each row names an upstream source with a tag or commit, and what it shows', () => {
    for (const [name, row] of Object.entries({ ...IMAGE_EVIDENCE, ...EXTERNAL_IMAGE_EVIDENCE })) {
      expect([name, ['yes', 'no', 'unconfirmed'].includes(row.arm64)]).toEqual([name, true]);
      // owner/repo, then a fixed point: a tag (v1.2.3 / 1.2.3), an abbreviated commit or a pull request
      expect([name, /^[\w.-]+\/[\w.-]+ /.test(row.source), /(\btag v?[0-9]|\b[0-9a-f]{7,40}\b|#[0-9]+)/.test(row.source)]).toEqual([name, true, true]);
      expect([name, row.shows.length > 20]).toEqual([name, true]);
    }
  });

  test('every image a workload of the stack can pull is in the catalog', () => {
    const catalog = new Set<string>(Object.values(DEFAULT_IMAGES));
    for (const overrides of EVERYTHING_ON) {
      const outside = imagesOf(manifests(overrides)).filter((image) => !catalog.has(image));
      expect(outside).toEqual([]);
    }
  });

  test("the Flux rows are the controllers the stack patches, at the Flux release docs/gitops.md installs", () => {
    expect(Object.keys(EXTERNAL_IMAGE_EVIDENCE).sort()).toEqual(FLUX_CONTROLLERS.map((c) => c.deployment).sort());
    for (const [name, row] of Object.entries(EXTERNAL_IMAGE_EVIDENCE)) expect(row.image).toMatch(new RegExp(`^ghcr\\.io/fluxcd/${name}:v[0-9.]+$`));
    const gitops = fs.readFileSync(path.join(__dirname, '..', 'docs', 'gitops.md'), 'utf8');
    const installs = gitops.split('\n').filter((line) => /\bflux install\b/.test(line) && /--components/.test(line));
    expect(installs.length).toBeGreaterThan(0);
    for (const line of installs) expect(line).toContain(`--version=${FLUX_VERSION}`);
  });
});

describe('no image without an arm64 build can be enabled', () => {
  test('no row of an image any component can pull says no', () => {
    for (const overrides of EVERYTHING_ON) {
      const used = new Set(imagesOf(manifests(overrides)));
      const refused = Object.values(IMAGE_EVIDENCE).filter((row) => used.has(row.image) && row.arm64 === 'no');
      expect(refused).toEqual([]);
      expect(imagesWithoutArm64(manifests(overrides))).toEqual([]);
    }
  });

  test('a row that says no makes the check name the workload, container and image (negative case)', () => {
    const evidence: Record<string, ImageEvidence> = { ...IMAGE_EVIDENCE, busybox: { ...IMAGE_EVIDENCE.busybox, arm64: 'no' } };
    const objects = manifests({ profile: 'full' });
    const found = imagesWithoutArm64(objects, evidence);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((f) => f.image === DEFAULT_IMAGES.busybox)).toBe(true);
    expect(() => assertImagesRunOnArm64(objects, evidence)).toThrow(new RegExp(`container [a-z-]+: image '${DEFAULT_IMAGES.busybox.replace(/[.]/g, '\\.')}' publishes no linux/arm64 build`));
    expect(() => assertImagesRunOnArm64(objects, evidence)).toThrow(/turn the component off, or set images\.<name> to a tag that publishes linux\/arm64/);
    expect(() => assertImagesRunOnArm64(objects)).not.toThrow();
  });
});

describe('docs/architecture.md image table', () => {
  const tables = imageEvidenceTables();

  test('has a row per catalog image and per Flux controller, with its status', () => {
    for (const row of [...Object.values(IMAGE_EVIDENCE), ...Object.values(EXTERNAL_IMAGE_EVIDENCE)]) {
      const line = tables.split('\n').find((l) => l.includes(`\`${row.image}\``));
      expect([row.image, line?.includes(` ${row.arm64} `)]).toEqual([row.image, true]);
    }
  });

  test('lists every unconfirmed image below the tables', () => {
    const list = tables.slice(tables.indexOf('Unconfirmed'));
    const unconfirmed = [...Object.values(IMAGE_EVIDENCE), ...Object.values(EXTERNAL_IMAGE_EVIDENCE)].filter((r) => r.arm64 === 'unconfirmed');
    expect(unconfirmed.length).toBeGreaterThan(0);
    for (const row of unconfirmed) expect(list).toContain(`- \`${row.image}\``);
    expect(imageEvidenceTables({ busybox: { ...IMAGE_EVIDENCE.busybox } }, {})).toContain('Every image is confirmed.');
  });
});
