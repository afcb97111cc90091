import { Command, Option } from 'commander';
import { ConfigError } from '../lib/config';
import { applyCommand } from './apply';
import { initCommand } from './init';
import { preflightCommand } from './preflight';
import { secretsCommand } from './secrets';
import { statusCommand } from './status';
import { KubeError } from './shared/kube';
import { CliError } from './shared/project';

/** Adds the options every cluster command takes. */
function withGlobals(command: Command): Command {
  return command
    .option('--dir <path>', 'folder with stack.config.ts and dist/', process.cwd())
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use (default: its current context)');
}

/** Runs a command; operator errors print their message and exit 1, anything else its stack. */
function run<T>(action: (options: T) => Promise<number>) {
  return async (options: T) => {
    try {
      process.exitCode = await action(options);
    } catch (error) {
      if (error instanceof CliError || error instanceof ConfigError || error instanceof KubeError) {
        process.stderr.write(`${(error as Error).message}\n`);
        process.exitCode = 1;
      } else if ((error as Error)?.name === 'ExitPromptError') {
        process.stderr.write('cancelled\n');
        process.exitCode = 130;
      } else {
        throw error;
      }
    }
  };
}

const program = new Command('potatostack')
  .description('Set up, check and apply PotatoStack on a k3s cluster (run it in a clone of PotatoStack or in your own repository: npx potatostack <command>)')
  .showHelpAfterError();

withGlobals(program.command('init'))
  .description('ask for (or detect) the settings every board needs and write stack.config.ts; with --new, create your own repository')
  .option('--new <dir>', 'create a repository of your own in <dir> (package.json depending on this package, stack.config.ts, main.ts, CI check, Dependabot) instead of changing the project in --dir')
  .option('--package-spec <spec>', 'with --new: what its package.json asks npm for (default: ^ this CLI\'s version)')
  .option('--age-recipient <key>', 'with --new: age public key (age1...) to write .sops.yaml for, to encrypt Secrets for Flux')
  .option('--domain <domain>', 'DNS domain of the web UIs, e.g. home.example.org')
  .option('--node-name <name>', 'Kubernetes name of the board (kubectl get nodes)')
  .option('--mem-total <quantity>', "the board's MemTotal, e.g. 1996800Ki (grep MemTotal /proc/meminfo)")
  .option('--lan-cidr <cidr>', 'your home LAN, e.g. 192.168.1.0/24')
  .option('--wireguard-cidr <cidr>', "addresses your router's WireGuard server gives remote clients")
  .option('--main-path <path>', 'mount point of the main HDD')
  .option('--cache-path <path>', 'mount point of the cache HDD')
  .option('--vpn-provider <name>', "gluetun's name of your VPN provider, e.g. surfshark, mullvad")
  .addOption(new Option('--vpn-type <type>', 'VPN protocol').choices(['wireguard', 'openvpn']))
  .option('--traefik-chart <major>', 'major of the Traefik chart your k3s bundles (default: detected from the cluster)')
  .option('--no-detect', "do not ask the cluster for the node's name, MemTotal, LAN range and Traefik chart")
  .option('--no-input', 'never prompt: every required setting comes from a flag or detection')
  .option('--force', 'rewrite an existing stack.config.ts (its other overrides are kept, the old file saved as stack.config.ts.bak); with --new, overwrite its files (each changed one kept as <file>.bak)')
  .action(run(initCommand));

withGlobals(program.command('preflight'))
  .description('check the cluster against the config: k3s and Traefik chart versions, node, disks, LAN range, Secrets')
  .option('--no-disk-check', 'skip the short-lived pod that checks the disks on the node')
  .option('--disk-check-timeout <duration>', 'how long the disk check pod may take', '3m')
  .action(run(preflightCommand));

withGlobals(program.command('secrets'))
  .description('create every Secret and key the manifests read that does not exist yet; never overwrites a key')
  .option('--env-file <file>', 'external credentials as NAME=value lines (WIREGUARD_PRIVATE_KEY, SOULSEEK_USERNAME, ...)')
  .option('--dry-run', 'only say what would be created')
  .addOption(new Option('-o, --output <format>', 'print the Secrets instead of creating them (nothing is read from the cluster)').choices(['yaml']))
  .option('--no-input', 'never prompt for external credentials')
  .action(run(secretsCommand));

withGlobals(program.command('apply'))
  .description('apply dist/ with server-side apply: namespaces, Secrets check, every object in order, prune, wait for rollouts')
  .option('--no-prune', 'keep objects the stack no longer synthesizes')
  .option('--force', 'let prune delete PersistentVolumes, claims and namespaces too (their data folders stay on the disk)')
  .option('--no-wait', 'do not wait for the rollouts')
  .option('--timeout <duration>', 'how long to wait for the rollouts', '10m')
  .option('--dry-run', 'send everything as a server-side dry run; change nothing')
  .option('--allow-missing-secrets', 'apply although Secrets are missing (their pods will not start)')
  .action(run(applyCommand));

withGlobals(program.command('status'))
  .description("show each component's health: ready pods, restarts, last termination, memory, volumes, Secrets, last backup")
  .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
  .action(run(statusCommand));

program.parseAsync(process.argv).catch((error) => {
  process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
  process.exitCode = 1;
});
