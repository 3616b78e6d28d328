import { loadConfig } from '../config/load';
import { ExitCode, JailError } from '../errors';
import { engineFor } from '../jail/connect';
import { formatMetrics, gatherMetrics, METRICS_FILE, publishMetrics } from '../jail/metrics';
import type { Command } from './command';

const HELP = `usage: docker-jail metrics [--output FILE|-]
Writes the jails by state, their sessions, memory, CPU and pids against their limits, logins and refusals by reason,
and when gc last ran, in Prometheus's text format, for node_exporter's textfile collector: to ${METRICS_FILE}
unless --output names another file (written whole, 0644), or - for standard output. docker-jail-metrics.timer
runs it every minute where that directory exists.`;

export const metricsCommand: Command = {
  name: 'metrics',
  usage: [{ synopsis: 'metrics [--output FILE|-]', summary: "write Prometheus metrics for node_exporter's textfile collector" }],
  help: HELP,
  rootOnly: true,
  audited: false,
  async run(args, io) {
    const output = outputOf(args);
    const config = loadConfig();
    const text = formatMetrics(await gatherMetrics(engineFor(config), config));
    if (output === '-') io.stdout.write(text);
    else publishMetrics(output, text);
    return 0;
  },
};

/** Where to write: the textfile collector's file, `--output FILE` (or `--output=FILE`), or `-` for standard output. */
function outputOf(args: string[]): string {
  if (args.length === 0) return METRICS_FILE;
  if (args.length === 1 && /^--output=./.test(args[0])) return args[0].slice('--output='.length);
  if (args.length === 2 && args[0] === '--output' && args[1] !== '') return args[1];
  const bad = args.find((a) => a.startsWith('-') && a !== '--output' && !a.startsWith('--output='));
  throw new JailError(bad === undefined ? HELP : `unknown option ${bad}\n${HELP}`, ExitCode.usage);
}
