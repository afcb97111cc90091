import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunningProcess, startUntil } from './control-plane';
import { ROOT, requireTool } from './tools';

export interface KwokOptions {
  /** The one Node kwok keeps Ready (with a Lease) and whose pods it runs. */
  readonly nodeName: string;
  /** Pod IPs are taken from this range. */
  readonly podCidr: string;
  /** The node's InternalIP, also the IP of its hostNetwork pods. */
  readonly nodeIp: string;
}

/** tools/bin/kwok-stages.yaml (or `$KWOK_STAGES`): kwok's default node and pod stages, written by tools/build.sh. */
export function kwokStages(): string {
  const file = process.env.KWOK_STAGES ?? path.join(ROOT, 'tools', 'bin', 'kwok-stages.yaml');
  if (!fs.existsSync(file)) {
    throw new Error(`${file} not found: kwok needs its stages (pod and node lifecycles); run tools/build.sh (or scripts/setup-integration.sh), which writes them from the kwok module`);
  }
  return file;
}

/**
 * Starts kwok against a cluster: it manages the named Node (Ready, heartbeat Lease) and plays
 * its pods through the stages: scheduled pods become Running and Ready, a Job's pods complete,
 * deleted pods go. No kubelet, no containers: what it shows is the control plane's work.
 */
export async function startKwok(kubeconfig: string, options: KwokOptions): Promise<RunningProcess> {
  const binary = requireTool('kwok', 'KWOK_BIN');
  // kwok also reads ~/.kwok/kwok.yaml when present: a private work dir keeps the run hermetic.
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-kwok-'));
  const args = [
    `--kubeconfig=${kubeconfig}`,
    `--config=${kwokStages()}`,
    `--manage-single-node=${options.nodeName}`,
    `--cidr=${options.podCidr}`,
    `--node-ip=${options.nodeIp}`,
    '--node-lease-duration-seconds=40',
  ];
  const running = await startUntil(binary, args, /Watch single node/, 60000, { ...process.env, KWOK_WORKDIR: workdir });
  return running;
}
