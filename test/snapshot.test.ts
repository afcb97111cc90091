import { stringify } from 'yaml';
import { synthCharts } from './helpers';

/**
 * Safety net for the configuration that dist/ does not hold: the nginx-proxy-manager ingress
 * mode (with Portainer off, as its README section advises). dist.test.ts already pins the
 * default stack byte for byte. Update with `npx jest -u` after an intended change.
 */
const charts = synthCharts({ ingress: { mode: 'nginx-proxy-manager' }, components: { portainer: { enabled: false } } });

test.each(Object.keys(charts))('nginx-proxy-manager mode: %s', (chart) => {
  expect(stringify(charts[chart])).toMatchSnapshot();
});
