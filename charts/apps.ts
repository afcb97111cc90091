import { Construct } from 'constructs';
import { PotatoStackConfig, ZONES } from '../lib/config';
import { PotatoChart } from '../lib/constructs';
import { Gitea } from '../lib/apps/gitea';
import { Homepage } from '../lib/apps/homepage';
import { Kopia } from '../lib/apps/kopia';
import { MARIADB } from '../lib/apps/mariadb';
import { Nextcloud, NextcloudDatabase } from '../lib/apps/nextcloud';
import { GITEA_POSTGRES } from '../lib/apps/postgres';

/** What an app needs to reach its database server and sign in (the password Secret's name and key). */
function databaseClient(db: typeof MARIADB | typeof GITEA_POSTGRES): NextcloudDatabase {
  const { host, port, namespace, app, database, user, secret } = db;
  return { host, port, namespace, app, database, user, passwordSecret: { name: secret.name, key: secret.passwordKey } };
}

/**
 * Application zone (`apps`, Pod Security baseline): Nextcloud, Gitea, Kopia and Homepage.
 * Claims, namespace and default-deny come from the platform chart; each app opens only its
 * own flows (ingress controller to its web port, its database, and what docs/apps.md lists).
 */
export class AppsChart extends PotatoChart {
  constructor(scope: Construct, id: string, config: PotatoStackConfig) {
    super(scope, id, config);
    const namespace = ZONES.apps.namespace;
    if (this.enabled('nextcloud')) {
      new Nextcloud(this, 'nextcloud', { namespace, database: databaseClient(MARIADB) });
    }
    if (this.enabled('gitea')) {
      new Gitea(this, 'gitea', { namespace, database: { ...databaseClient(GITEA_POSTGRES), maxConnections: GITEA_POSTGRES.maxConnections } });
    }
    if (this.enabled('kopia')) new Kopia(this, 'kopia', { namespace });
    if (this.enabled('homepage')) new Homepage(this, 'homepage', { namespace });
  }
}
