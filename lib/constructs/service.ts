import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { appLabels, selectorLabels } from './labels';

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  /** @default the port's name on the container */
  readonly targetPort?: string | number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

export interface AppServiceProps {
  /** Service name; selects the pods of the app of the same name unless `app` says otherwise. */
  readonly name: string;
  readonly namespace: string;
  /** @default name */
  readonly app?: string;
  readonly role: string;
  readonly ports: readonly ServicePort[];
  /** @default none */
  readonly annotations?: Record<string, string>;
  /** `LoadBalancer` publishes the ports on the node through k3s's ServiceLB. @default 'ClusterIP' */
  readonly type?: 'ClusterIP' | 'LoadBalancer';
  /** LoadBalancer only: `Local` keeps the client's source address. @default Kubernetes' 'Cluster' */
  readonly externalTrafficPolicy?: 'Local' | 'Cluster';
  /** LoadBalancer only: the client ranges ServiceLB and kube-proxy accept. @default any */
  readonly loadBalancerSourceRanges?: readonly string[];
}

/** Service on the house selector labels: ClusterIP, or LoadBalancer for what the node publishes. */
export class AppService extends Construct {
  readonly name: string;
  readonly namespace: string;

  constructor(scope: Construct, id: string, props: AppServiceProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace;
    const app = props.app ?? props.name;
    const type = props.type ?? 'ClusterIP';
    if (type !== 'LoadBalancer' && (props.externalTrafficPolicy || props.loadBalancerSourceRanges)) {
      throw new Error(`Service ${props.namespace}/${props.name}: externalTrafficPolicy and loadBalancerSourceRanges need type LoadBalancer`);
    }
    new k8s.KubeService(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: appLabels(app, props.role), annotations: props.annotations },
      spec: {
        type,
        externalTrafficPolicy: props.externalTrafficPolicy,
        loadBalancerSourceRanges: props.loadBalancerSourceRanges ? [...props.loadBalancerSourceRanges] : undefined,
        selector: selectorLabels(app),
        ports: props.ports.map((p) => ({
          name: p.name,
          port: p.port,
          protocol: p.protocol ?? 'TCP',
          targetPort: typeof p.targetPort === 'number' ? k8s.IntOrString.fromNumber(p.targetPort) : k8s.IntOrString.fromString(p.targetPort ?? p.name),
        })),
      },
    });
  }
}
