import { resolveConfig } from './lib/config';
import { synthesize } from './lib/stack';
import { overrides } from './stack.config';

try {
  synthesize(resolveConfig(overrides), process.env.CDK8S_OUTDIR ?? 'dist');
} catch (error) {
  // Config and budget errors are meant for the operator: print the message, not a stack trace.
  console.error((error as Error).message);
  process.exit(1);
}
