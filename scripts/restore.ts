// Prints the restore objects for one app as YAML (to stdout) and the runbook (to stderr):
//   npm run --silent restore -- <app> [--snapshot <manifest-id>|latest] [--from main|copy] [--id <restore-id>] > restore.yaml
// The objects come from lib/apps/backup/restore.ts, the same generator the restore drill runs.
import { stringify } from 'yaml';
import { resolveConfig } from '../lib/config';
import { RestoreRequest, renderRunbook, restorableApps, restoreManifests, restoreRunbook } from '../lib/apps/backup/restore';
import { overrides } from '../stack.config';

function parse(argv: string[]): RestoreRequest {
  const [app, ...rest] = argv;
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i];
    if (!['--snapshot', '--from', '--id'].includes(flag) || rest[i + 1] === undefined) {
      throw new Error(`unknown or incomplete option '${flag}'; expected --snapshot <id|latest>, --from main|copy, --id <restore-id>`);
    }
    options[flag.slice(2)] = rest[i + 1];
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.[0-9]+Z$/, 'Z');
  return { app: app ?? '', snapshot: options.snapshot ?? 'latest', from: (options.from ?? 'main') as RestoreRequest['from'], restoreId: options.id ?? stamp };
}

try {
  const config = resolveConfig(overrides);
  if (process.argv.length < 3) {
    console.error(`usage: npm run --silent restore -- <app> [--snapshot <manifest-id>|latest] [--from main|copy] [--id <restore-id>]\napps: ${restorableApps(config).map((a) => a.app).join(', ')}`);
    process.exit(2);
  }
  const request = parse(process.argv.slice(2));
  const objects = restoreManifests(config, request);
  process.stdout.write(objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'));
  console.error(`# Restore of ${request.app} (restore ID ${request.restoreId}): the steps\n\n${renderRunbook(restoreRunbook(config, request))}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
