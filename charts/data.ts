import { Construct } from 'constructs';
import { PotatoStackConfig } from '../lib/config';
import { PotatoChart } from '../lib/constructs';
import { Mariadb } from '../lib/apps/mariadb';
import { GiteaPostgres } from '../lib/apps/postgres';

/**
 * Database zone (`data`, Pod Security restricted): MariaDB for Nextcloud and PostgreSQL for
 * Gitea. Their claims come from the platform chart; the zone's default-deny and DNS policies
 * too, so each database only opens its port to its one app.
 */
export class DataChart extends PotatoChart {
  constructor(scope: Construct, id: string, config: PotatoStackConfig) {
    super(scope, id, config);
    if (this.enabled('mariadb')) new Mariadb(this, 'mariadb');
    if (this.enabled('postgres')) new GiteaPostgres(this, 'postgres');
  }
}
