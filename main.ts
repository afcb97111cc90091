import { defaultEnvironments, runSynth } from './index';
import { overrides } from './stack.config';

/** The board (dist/) and the laptop staging cluster (staging/), from the same overrides. */
export const environments = () => defaultEnvironments(overrides);

// `cdk8s synth` and scripts/bench-synth.sh name the board's output folder in CDK8S_OUTDIR.
const outdir = process.env.CDK8S_OUTDIR;
if (require.main === module) runSynth(__dirname, outdir ? () => [{ ...environments()[0], outdir }] : environments);
