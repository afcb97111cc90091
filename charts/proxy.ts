import { Construct } from 'constructs';
import { PotatoStackConfig } from '../lib/config';
import { GITEA_SSH_PORT, NginxProxyManager } from '../lib/apps/nginx-proxy-manager';
import { TcpRoute, Traefik } from '../lib/apps/traefik';
import { PotatoChart } from '../lib/constructs';

/**
 * The DMZ: how web traffic enters. In `traefik` mode (default) it configures k3s's bundled
 * Traefik (values, middlewares, TLS 1.3) and routes Gitea's SSH through it; in
 * `nginx-proxy-manager` mode it deploys NPM in `dmz` and renders no Traefik object.
 */
export class ProxyChart extends PotatoChart {
  constructor(scope: Construct, id: string, config: PotatoStackConfig) {
    super(scope, id, config);
    if (config.ingress.mode === 'nginx-proxy-manager') {
      new NginxProxyManager(this, 'nginx-proxy-manager');
      return;
    }
    new Traefik(this, 'traefik');
    if (this.enabled('gitea')) {
      new TcpRoute(this, 'gitea-ssh', { name: 'gitea-ssh', namespace: 'apps', serviceName: 'gitea', servicePort: GITEA_SSH_PORT });
    }
  }
}
