// Node flags the cluster primary gives the workers it forks.

/**
 * The workers' node flags: the primary's own, plus the young-generation size unless the operator set one (on the
 * command line or in NODE_OPTIONS). Measured (`npm run bench`): at 5,000 resources a 32 MiB semi-space cuts the
 * service's CPU per request by about a quarter — the parsed body no longer survives into the old generation.
 */
export function workerExecArgv(own: readonly string[], semiSpaceMb: number, nodeOptions = ''): string[] {
  const set = (flags: readonly string[]) => flags.some((f) => /^--max-semi-space-size(=|$)/.test(f));
  if (semiSpaceMb === 0 || set(own) || set(nodeOptions.split(/\s+/))) return [...own];
  return [...own, `--max-semi-space-size=${semiSpaceMb}`];
}
