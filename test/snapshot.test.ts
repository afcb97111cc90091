import { stringify } from 'yaml';
import { synthCharts } from './helpers';

/**
 * Safety net for the configurations that dist/ does not hold: the full profile, and the
 * nginx-proxy-manager ingress mode. dist.test.ts already pins the default stack byte for byte.
 * Update with `npx jest -u` after an intended change.
 */
const variants = {
  'full profile': synthCharts({ profile: 'full' }),
  'nginx-proxy-manager mode': synthCharts({ ingress: { mode: 'nginx-proxy-manager' } }),
};

describe.each(Object.entries(variants))('%s', (_variant, charts) => {
  test.each(Object.keys(charts))('%s', (chart) => {
    expect(stringify(charts[chart])).toMatchSnapshot();
  });
});
