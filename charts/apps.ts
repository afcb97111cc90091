import { Construct } from 'constructs';
import { PotatoStackConfig, ZONES } from '../lib/config';
import { PotatoChart } from '../lib/constructs';
import { Gitea } from '../lib/apps/gitea';
import { Homepage } from '../lib/apps/homepage';
import { Kopia } from '../lib/apps/kopia';
import { MARIADB } from '../lib/apps/mariadb';
import { Nextcloud } from '../lib/apps/nextcloud';
import { GITEA_POSTGRES } from '../lib/apps/postgres';

/**
 * Application zone (`apps`, Pod Security baseline): Nextcloud, Gitea, Kopia and Homepage.
 * Claims, namespace and default-deny come from the platform chart; each app opens only its
 * own flows (ingress controller to its web port, its database, and what the README lists).
 */
export class AppsChart extends PotatoChart {
  constructor(scope: Construct, id: string, config: PotatoStackConfig) {
    super(scope, id, config);
    const namespace = ZONES.apps.namespace;
    if (this.enabled('nextcloud')) {
      new Nextcloud(this, 'nextcloud', {
        namespace,
        database: {
          host: MARIADB.host,
          port: MARIADB.port,
          namespace: MARIADB.namespace,
          app: MARIADB.app,
          database: MARIADB.database,
          user: MARIADB.user,
          passwordSecret: { name: MARIADB.secret.name, key: MARIADB.secret.passwordKey },
        },
      });
    }
    if (this.enabled('gitea')) {
      new Gitea(this, 'gitea', {
        namespace,
        database: {
          host: GITEA_POSTGRES.host,
          port: GITEA_POSTGRES.port,
          namespace: GITEA_POSTGRES.namespace,
          app: GITEA_POSTGRES.app,
          database: GITEA_POSTGRES.database,
          user: GITEA_POSTGRES.user,
          passwordSecret: { name: GITEA_POSTGRES.secret.name, key: GITEA_POSTGRES.secret.passwordKey },
          maxConnections: GITEA_POSTGRES.maxConnections,
        },
      });
    }
    if (this.enabled('kopia')) new Kopia(this, 'kopia', { namespace });
    if (this.enabled('homepage')) new Homepage(this, 'homepage', { namespace });
  }
}
