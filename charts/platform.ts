import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { PRIORITY_TIERS, PotatoStackConfig, STORAGE_CLASSES, ZONES, ZoneName } from '../lib/config';
import { HostPathVolume, PotatoChart, ZoneNamespace } from '../lib/constructs';
import { enabledVolumes } from '../lib/host/storage';
import { VPN_POD } from '../lib/names';

/** Zones in use with the given config (`dmz` only in nginx-proxy-manager mode). */
export function activeZones(config: PotatoStackConfig): ZoneName[] {
  return (Object.keys(ZONES) as ZoneName[]).filter((zone) => zone !== 'dmz' || config.ingress.mode === 'nginx-proxy-manager');
}

/**
 * Cluster foundation: zone namespaces with Pod Security labels and default-deny policies,
 * the HDD storage classes, the priority classes, and a static hostPath PV + claim per layout folder.
 */
export class PlatformChart extends PotatoChart {
  constructor(scope: Construct, id: string, config: PotatoStackConfig) {
    super(scope, id, config);
    for (const zone of activeZones(config)) {
      new ZoneNamespace(this, `zone-${zone}`, { zone: ZONES[zone], noDnsApps: zone === 'vpn' ? [VPN_POD] : [] });
    }
    for (const [disk, className] of Object.entries(STORAGE_CLASSES)) {
      new k8s.KubeStorageClass(this, `class-${disk}`, {
        metadata: { name: className },
        // Static PVs only: nothing provisions, deleting a claim keeps the data.
        provisioner: 'kubernetes.io/no-provisioner',
        reclaimPolicy: 'Retain',
        volumeBindingMode: 'Immediate',
      });
    }
    for (const [name, tier] of Object.entries(PRIORITY_TIERS)) {
      new k8s.KubePriorityClass(this, `priority-${name}`, {
        metadata: { name },
        value: tier.value,
        description: tier.description,
        preemptionPolicy: tier.preempts ? 'PreemptLowerPriority' : 'Never',
      });
    }
    for (const volume of enabledVolumes(config)) {
      new HostPathVolume(this, `volume-${volume.name}`, volume);
    }
  }
}
