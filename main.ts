import { defaultEnvironments, runSynth } from './index';
import { overrides } from './stack.config';

/** The board (dist/) and the laptop staging cluster (staging/), from the same overrides. */
export const environments = () => defaultEnvironments(overrides);

if (require.main === module) runSynth(__dirname, environments);
