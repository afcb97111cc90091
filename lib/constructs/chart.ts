import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import type { ComponentName, ContainerSize, ImageName, PotatoStackConfig } from '../config';
import { PART_OF, MANAGED_BY } from './labels';

/**
 * Base of every chart: carries the resolved config so the house constructs below it can
 * look up images and sizes, and stamps part-of / managed-by on every object.
 */
export class PotatoChart extends Chart {
  /** The chart a construct belongs to. */
  static of(scope: Construct): PotatoChart {
    const chart: Chart = Chart.of(scope);
    if (!(chart instanceof PotatoChart)) throw new Error(`${scope.node.path} is not inside a PotatoChart`);
    return chart as PotatoChart;
  }

  constructor(scope: Construct, id: string, readonly config: PotatoStackConfig) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': MANAGED_BY } });
  }

  /** `repository:tag` of a catalog image. */
  image(name: ImageName): string {
    return this.config.images[name];
  }

  /** Configured size of one container of a component; throws when the catalog has no such container. */
  size(component: ComponentName, container: string): ContainerSize {
    const size = this.config.components[component].containers[container];
    if (!size) throw new Error(`components.${component}.containers has no size for container '${container}'`);
    return size;
  }

  enabled(component: ComponentName): boolean {
    return this.config.components[component].enabled;
  }
}
