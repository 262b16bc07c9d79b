// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time (file:line) and the
// self time per module/package, as shares of the busy time (idle excluded: a server waits between load runs).
// Usage: npx tsx bench/profile-top.ts <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
export interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }
export interface ProfileRow { name: string; where: string; ms: number; pct: number }

function selfTimes(profile: Profile): { frames: { f: CallFrame; us: number }[]; busyUs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const frames = [...self].map(([id, us]) => ({ f: byId.get(id)!.callFrame, us }));
  const busyUs = frames.filter((x) => x.f.functionName !== '(idle)').reduce((a, b) => a + b.us, 0);
  return { frames: frames.filter((x) => x.f.functionName !== '(idle)'), busyUs };
}

const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '');

export function topSelfTime(profile: Profile, top = 25): ProfileRow[] {
  const { frames, busyUs } = selfTimes(profile);
  const agg = new Map<string, { name: string; where: string; us: number }>();
  for (const { f, us } of frames) {
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName}@${where}`;
    const a = agg.get(key) ?? { name: f.functionName || '(anonymous)', where, us: 0 };
    a.us += us;
    agg.set(key, a);
  }
  return [...agg.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((a) => ({ name: a.name, where: a.where, ms: a.us / 1000, pct: (100 * a.us) / busyUs }));
}

/** Self time per package (node_modules/<pkg>) or project directory (dist/src/policy ...), node internals, GC. */
export function selfTimeByModule(profile: Profile, top = 15): ProfileRow[] {
  const { frames, busyUs } = selfTimes(profile);
  const agg = new Map<string, number>();
  for (const { f, us } of frames) {
    const u = shortUrl(f.url);
    let key: string;
    if (!u) key = f.functionName.startsWith('(') ? f.functionName : `native: ${f.functionName}`;
    else if (u.startsWith('node:')) key = `node: ${u.slice(5).split('/').slice(0, 2).join('/')}`;
    else if (u.includes('node_modules/')) {
      const rest = u.slice(u.lastIndexOf('node_modules/') + 13).split('/');
      key = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    } else key = path.dirname(u);
    agg.set(key, (agg.get(key) ?? 0) + us);
  }
  return [...agg]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, where: '', ms: us / 1000, pct: (100 * us) / busyUs }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: tsx bench/profile-top.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const top = Number(process.argv[3] ?? 25);
  const busy = selfTimes(profile).busyUs / 1000;
  process.stdout.write(`busy ${busy.toFixed(0)} ms (idle excluded)\n-- by function --\n`);
  for (const r of topSelfTime(profile, top)) process.stdout.write(`${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}  ${r.where}\n`);
  process.stdout.write('-- by module --\n');
  for (const r of selfTimeByModule(profile, 20)) process.stdout.write(`${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}\n`);
}
