import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { STORAGE_CLASSES, VolumeSpec, ZONES, hostPathOf } from '../config';
import { PotatoChart } from './chart';

export { hostPathOf } from '../config';

/**
 * A folder on an HDD as a static hostPath PV plus the one claim bound to it. `Directory`
 * (never DirectoryOrCreate): if the disk is not mounted the pod must fail to start rather
 * than write to the SD card. Retain: deleting the claim never deletes data.
 */
export class HostPathVolume extends Construct {
  readonly claimName: string;

  constructor(scope: Construct, id: string, spec: VolumeSpec) {
    super(scope, id);
    const { config } = PotatoChart.of(this);
    const accessMode = spec.readOnly ? 'ReadOnlyMany' : 'ReadWriteOnce';
    const storageClassName = STORAGE_CLASSES[spec.disk];
    const capacity = { storage: k8s.Quantity.fromString(spec.capacity) };
    const labels = { 'app.kubernetes.io/name': spec.name, 'potatostack.io/disk': spec.disk };
    const namespace = ZONES[spec.zone].namespace;
    this.claimName = spec.name;
    new k8s.KubePersistentVolume(this, 'Volume', {
      metadata: { name: spec.name, labels },
      spec: {
        capacity,
        accessModes: [accessMode],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName,
        volumeMode: 'Filesystem',
        hostPath: { path: hostPathOf(spec, config.storage), type: 'Directory' },
        // Pre-bound to its claim so no other claim of the class can take it.
        claimRef: { name: spec.name, namespace },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [config.storage.nodeName] }] }],
          },
        },
      },
    });
    new k8s.KubePersistentVolumeClaim(this, 'Claim', {
      metadata: { name: spec.name, namespace, labels },
      spec: {
        accessModes: [accessMode],
        storageClassName,
        volumeName: spec.name,
        resources: { requests: capacity },
      },
    });
  }
}
