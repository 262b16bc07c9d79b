// Child processes of the benchmark: the real service (production build, `node dist/src/main.js`) and the floor server,
// both on loopback ports chosen here. Every child is tracked by pid and stopped by pid — including the cluster
// workers a service primary forked, should any outlive it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether a given loopback port can be listened on right now. */
export async function portFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Resident memory (VmRSS), its peak (VmHWM), both in kB, and the thread count of a process (Linux /proc). */
export function procMemory(pid: number): { rssKb: number; hwmKb: number; threads: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: field('VmRSS'), hwmKb: field('VmHWM'), threads: field('Threads') };
  } catch {
    return undefined; // gone, or not Linux
  }
}

/** Children, grandchildren …: a service started through `npm start` is npm → sh → node primary → worker. */
export function descendantPids(pid: number): number[] {
  const out: number[] = [];
  for (const c of childPids(pid)) out.push(c, ...descendantPids(c));
  return out;
}

/** Child pids of `pid` (Linux /proc); empty elsewhere. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(e));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** CPU time (user + system, ms) of processes by pid, threads included (Linux /proc; 0 elsewhere). */
export function cpuMsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      /* exited */
    }
  }
  return ticks * 10; // USER_HZ = 100 on Linux
}

/** Busy CPU time of the whole machine (ms, all cores). */
export function machineBusyMs(): number {
  try {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const n = f.map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
    const busy = n.slice(0, 8).reduce((a, b) => a + b, 0) - (n[3] ?? 0) - (n[4] ?? 0);
    return busy * 10;
  } catch {
    return 0;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface Child {
  name: string;
  proc: ChildProcess;
  /** The child and the processes it forked. */
  pids(): number[];
  port: number;
  logFile: string;
  /** Pids of processes the child forked (cluster workers), sampled after start. */
  workers: number[];
  stop(): Promise<void>;
}

const running = new Set<Child>();

/** Kills what is still running (by pid) when the benchmark itself is interrupted. */
export function killAllChildren(): void {
  for (const c of running) {
    for (const w of c.workers) if (alive(w)) process.kill(w, 'SIGKILL');
    if (c.proc.pid && alive(c.proc.pid)) process.kill(c.proc.pid, 'SIGKILL');
  }
  running.clear();
}

async function waitHttpOk(url: string, timeoutMs: number, child: ChildProcess, pollMs = 150): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before becoming ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`not ready after ${timeoutMs} ms (${last})`);
}

export interface StartOptions {
  name: string;
  /** Program to run (default: this Node.js) with `args`. */
  command?: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  readyPath: string;
  logFile: string;
  readyTimeoutMs?: number;
  /** Interval between readiness probes (default 150 ms; the start-up bench polls faster to time readiness). */
  pollMs?: number;
}

export async function startChild(o: StartOptions): Promise<Child> {
  const fd = openSync(o.logFile, 'a');
  // A clean environment: nothing of the caller's (DATABASE_URL, NODE_OPTIONS ...) leaks into what is measured.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...o.env, PORT: String(o.port) };
  const proc = spawn(o.command ?? process.execPath, o.args, { cwd: ROOT, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const child: Child = {
    name: o.name,
    proc,
    port: o.port,
    logFile: o.logFile,
    workers: [],
    pids: () => (proc.pid ? [proc.pid, ...child.workers] : []),
    async stop() {
      running.delete(child);
      const pid = proc.pid;
      const workers = pid ? descendantPids(pid) : [];
      if (proc.exitCode === null && pid) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (proc.exitCode === null) proc.kill('SIGKILL');
        }, 20_000);
        await exited;
        clearTimeout(timer);
      }
      // Workers normally leave with their primary; any that did not are ours to end.
      await new Promise((r) => setTimeout(r, 200));
      for (const w of [...workers, ...child.workers]) if (alive(w)) process.kill(w, 'SIGKILL');
    },
  };
  running.add(child);
  try {
    await waitHttpOk(`http://127.0.0.1:${o.port}${o.readyPath}`, o.readyTimeoutMs ?? 60_000, proc, o.pollMs);
  } catch (err) {
    await child.stop();
    const tail = readFileSync(o.logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${o.name}: ${(err as Error).message}\n--- ${o.logFile} (tail) ---\n${tail}`);
  }
  if (proc.pid) child.workers = childPids(proc.pid);
  return child;
}
