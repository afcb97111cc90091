import { Construct } from 'constructs';
import { PotatoStackConfig, ZONES } from '../lib/config';
import { AppPolicy, PotatoChart } from '../lib/constructs';
import { CacheCleanup } from '../lib/apps/vpn/cache-cleanup';
import { tunnelEgressRule } from '../lib/apps/vpn/gluetun';
import { VpnPod } from '../lib/apps/vpn/pod';
import { VPN_POD } from '../lib/names';

/**
 * The VPN zone: one pod (gluetun + qBittorrent + slskd), its two web UIs behind the proxy,
 * the NetworkPolicy half of the killswitch, and the weekly download cache cleanup.
 */
export class VpnChart extends PotatoChart {
  constructor(scope: Construct, id: string, config: PotatoStackConfig) {
    super(scope, id, config);
    if (!this.enabled('vpn')) return;
    const namespace = ZONES.vpn.namespace;
    const pod = new VpnPod(this, 'pod', { namespace });

    // Second killswitch layer: even with gluetun's firewall gone, the pod reaches nothing but
    // VPN servers on the transport port, and only the proxy reaches the two web UIs.
    new AppPolicy(this, 'vpn-from-proxy', {
      name: 'vpn-from-proxy',
      namespace,
      app: VPN_POD,
      ingress: [pod.webRule],
    });
    new AppPolicy(this, 'vpn-tunnel-only', {
      name: 'vpn-tunnel-only',
      namespace,
      app: VPN_POD,
      egress: [tunnelEgressRule(config)],
    });

    new CacheCleanup(this, 'cache-cleanup', { namespace });
  }
}
