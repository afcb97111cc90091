import { Construct } from 'constructs';
import { PotatoStackConfig, ZONES, webUi } from '../lib/config';
import { PotatoChart } from '../lib/constructs';
import { Diun, diunNotifiersFrom } from '../lib/apps/diun';
import { Dozzle } from '../lib/apps/dozzle';
import { Portainer } from '../lib/apps/portainer';
import { UptimeKuma } from '../lib/apps/uptime-kuma';

/**
 * Management zone: the operator's everyday tools, each behind the proxy (Diun has no UI) and
 * each with only the API access it needs: Portainer cluster-admin, Dozzle read-only logs,
 * Diun read-only pods, Uptime Kuma none.
 */
export class ManagementChart extends PotatoChart {
  constructor(scope: Construct, id: string, config: PotatoStackConfig) {
    super(scope, id, config);
    const namespace = ZONES.management.namespace;
    if (this.enabled('portainer')) {
      new Portainer(this, 'portainer', { namespace, subdomain: webUi('Portainer').subdomain });
    }
    if (this.enabled('uptime-kuma')) {
      new UptimeKuma(this, 'uptime-kuma', { namespace, subdomain: webUi('Uptime Kuma').subdomain });
    }
    if (this.enabled('dozzle')) {
      new Dozzle(this, 'dozzle', { namespace, subdomain: webUi('Dozzle').subdomain });
    }
    if (this.enabled('diun')) {
      new Diun(this, 'diun', { namespace, notifiers: diunNotifiersFrom(config) });
    }
  }
}
