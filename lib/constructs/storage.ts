import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { STORAGE_CLASSES, VolumeSpec, ZONES, hostPathOf } from '../config';
import { PotatoChart } from './chart';
import { GITOPS_KEEP_ANNOTATIONS } from './labels';

export { hostPathOf } from '../config';

/**
 * A folder on an HDD as a static hostPath PV plus the one claim bound to it. `Directory`
 * (never DirectoryOrCreate): if the disk is not mounted the pod must fail to start rather
 * than write to the SD card. Retain: deleting the claim never deletes data.
 */
export interface HostPathVolumeOptions {
  /**
   * Absolute host path for a folder outside the two HDDs (an off-site target such as an NFS
   * mount); it then has no storage class of its disk. @default the layout path on its disk
   */
  readonly hostPath?: string;
}

export class HostPathVolume extends Construct {
  readonly claimName: string;

  constructor(scope: Construct, id: string, spec: VolumeSpec, options: HostPathVolumeOptions = {}) {
    super(scope, id);
    const { config } = PotatoChart.of(this);
    const accessMode = spec.readOnly ? 'ReadOnlyMany' : 'ReadWriteOnce';
    // '' binds without a class: the off-HDD folder belongs to neither disk's class.
    const storageClassName = options.hostPath ? '' : STORAGE_CLASSES[spec.disk];
    const capacity = { storage: k8s.Quantity.fromString(spec.capacity) };
    const labels = { 'app.kubernetes.io/name': spec.name, 'potatostack.io/disk': spec.disk };
    const namespace = ZONES[spec.zone].namespace;
    this.claimName = spec.name;
    new k8s.KubePersistentVolume(this, 'Volume', {
      metadata: { name: spec.name, labels, annotations: { ...GITOPS_KEEP_ANNOTATIONS } },
      spec: {
        capacity,
        accessModes: [accessMode],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName,
        volumeMode: 'Filesystem',
        hostPath: { path: options.hostPath ?? hostPathOf(spec, config.storage), type: 'Directory' },
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
      metadata: { name: spec.name, namespace, labels, annotations: { ...GITOPS_KEEP_ANNOTATIONS } },
      spec: {
        accessModes: [accessMode],
        storageClassName,
        volumeName: spec.name,
        resources: { requests: capacity },
      },
    });
  }
}
