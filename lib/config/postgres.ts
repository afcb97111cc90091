import type { PotatoStackConfig } from './types';
import type { Report } from './validate';

/**
 * PostgreSQL majors the chart knows how to run: its settings are valid for all of them and the
 * image's entrypoint behaves the same (PGDATA set explicitly, so 18's new default data path
 * does not apply). 13 and 14 are past end of life (November 2025 and November 2026); they stay
 * allowed only so an operator can start an old data folder once to dump it.
 */
export const SUPPORTED_POSTGRES_MAJORS = [13, 14, 15, 16, 17, 18] as const;

/** The Gitea database server. */
export interface PostgresConfig {
  /**
   * Major version of the data folder. A data folder only opens with the major that created it,
   * so this is a deliberate operator decision (dump, switch, restore), kept apart from the image
   * tag that an update bot bumps: synth fails when `images.postgres` is of another major.
   * @default 17
   */
  readonly majorVersion: number;
}

export const DEFAULT_POSTGRES: PostgresConfig = { majorVersion: 17 };

/** Major version in a postgres image tag such as `17.6-alpine`; undefined when the tag has none. */
export function postgresImageMajor(reference: string): number | undefined {
  const tag = reference.replace(/@sha256:.*$/, '').split(':').pop() ?? '';
  const match = /^([0-9]+)(?:\.[0-9]+)*-alpine[0-9.]*$/.exec(tag);
  return match ? Number(match[1]) : undefined;
}

/** Checks `postgres.majorVersion` and that the catalog image is an alpine image of that major. */
export function checkPostgres(config: PotatoStackConfig, report: Report): void {
  const { majorVersion } = config.postgres;
  if (!SUPPORTED_POSTGRES_MAJORS.includes(majorVersion as (typeof SUPPORTED_POSTGRES_MAJORS)[number])) {
    report('postgres.majorVersion', majorVersion, `one of the supported majors ${SUPPORTED_POSTGRES_MAJORS.join(', ')}`);
    return;
  }
  const image = config.images.postgres;
  if (typeof image !== 'string') return; // checkImages reports it
  const imageMajor = postgresImageMajor(image);
  if (imageMajor !== majorVersion) {
    report(
      'images.postgres',
      image,
      `an alpine image of postgres.majorVersion ${majorVersion}, such as 'docker.io/library/postgres:${majorVersion}.<minor>-alpine' ` +
        '(alpine: the data folder belongs to UID 70, its postgres user; change postgres.majorVersion only after a dump and restore)',
    );
  }
}
