#!/usr/bin/env node
// Runs before `npm test` (and from .ci/run): makes sure the two system services the test suite talks to are there.
// - PostgreSQL on 127.0.0.1:5432 (trust auth, database "test"): the store tests run against it as well as PGlite.
// - Debian's Chromium at /usr/bin/chromium: the /analytics page is tested in a real headless browser.
// Both come from Debian packages; as root with apt this installs/starts what is missing, otherwise it says what to do
// and fails, so a missing dependency is never mistaken for a passing suite.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';

const log = (m) => process.stdout.write(`[test-deps] ${m}\n`);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status === 0;

function portOpen(port, host = '127.0.0.1', timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

let problems = 0;

if (!(await portOpen(5432))) {
  if (has('pg_ctlcluster') && existsSync('/etc/postgresql')) {
    const version = readdirSync('/etc/postgresql').sort().at(-1);
    log(`starting PostgreSQL ${version}`);
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
    for (let i = 0; i < 30 && !(await portOpen(5432)); i++) await new Promise((r) => setTimeout(r, 1000));
  }
  if (!(await portOpen(5432))) {
    log('PostgreSQL is not reachable on 127.0.0.1:5432; the store tests need it (trust auth, database "test").');
    problems++;
  }
}
if ((await portOpen(5432)) && has('psql')) {
  const exists = spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-tAc', "SELECT 1 FROM pg_database WHERE datname='test'"], { encoding: 'utf8' });
  if (exists.status === 0 && exists.stdout.trim() !== '1') {
    log('creating database "test"');
    run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-c', 'CREATE DATABASE test']);
  }
}

if (!existsSync('/usr/bin/chromium')) {
  if (isRoot && has('apt-get')) {
    log('installing Debian chromium for the /analytics browser test (once)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
    } catch {
      /* reported below */
    }
  }
  if (!existsSync('/usr/bin/chromium')) {
    log('Chromium is missing at /usr/bin/chromium; install it with: apt-get install chromium');
    problems++;
  }
}

process.exit(problems > 0 ? 1 : 0);
