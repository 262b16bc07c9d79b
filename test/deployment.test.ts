// There is no Docker engine here, so the deployment files are validated structurally: what compose would reject
// (dangling references, missing build context) and what this service needs to run (env, healthchecks, PostgreSQL).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../src/config.js';

const compose = parse(readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8'));
const dockerfile = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8');

describe('docker-compose.yml', () => {
  const services = compose.services as Record<string, any>;

  it('runs the service next to HAPI FHIR and PostgreSQL behind a proxy', () => {
    expect(Object.keys(services).sort()).toEqual(['hapi', 'postgres', 'proxy', 'pumpcheck']);
    expect(services.hapi.image).toMatch(/^hapiproject\/hapi:/);
    expect(services.postgres.image).toMatch(/^postgres:/);
  });

  it('only references services, volumes and files that exist', () => {
    const volumes = Object.keys(compose.volumes ?? {});
    for (const [name, svc] of Object.entries(services)) {
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
      for (const v of svc.volumes ?? []) {
        const source = String(v).split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(path.join(projectRoot, source)), `${name}: ${source}`).toBe(true);
        else expect(volumes, `${name}: named volume ${source}`).toContain(source);
      }
      if (svc.build) expect(existsSync(path.join(projectRoot, svc.build === '.' ? 'Dockerfile' : svc.build))).toBe(true);
    }
  });

  it('has healthchecks and waits for healthy dependencies', () => {
    for (const name of ['pumpcheck', 'postgres', 'proxy']) expect(services[name].healthcheck?.test, name).toBeTruthy();
    expect(services.pumpcheck.depends_on.postgres.condition).toBe('service_healthy');
    expect(services.proxy.depends_on.pumpcheck.condition).toBe('service_healthy');
  });

  it('configures the service for PostgreSQL and production, and the configuration it passes is valid', () => {
    const env = services.pumpcheck.environment as Record<string, string>;
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
    expect(env.NODE_ENV).toBe('production');
    // Substitute what compose would interpolate, then check the service would accept it.
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+(:[-?][^}]*)?\}/g, 'x'.repeat(24))]),
    );
    const issuersFile = services.pumpcheck.volumes
      .map((v: string) => v.split(':'))
      .find(([, target]: string[]) => target === env.CDS_TRUSTED_ISSUERS_FILE);
    expect(issuersFile).toBeTruthy();
    resolved.CDS_TRUSTED_ISSUERS_FILE = path.join(projectRoot, issuersFile[0]);
    resolved.PUBLIC_BASE_URL = 'http://localhost:8080';
    expect(() => loadConfig(resolved)).not.toThrow();
  });

  it('shows how to scale the service to several replicas', () => {
    expect(services.pumpcheck.deploy.replicas).toBeGreaterThan(1);
    expect(services.pumpcheck.ports, 'replicas must not bind a fixed host port').toBeUndefined();
    expect(readFileSync(path.join(projectRoot, 'deploy/nginx.conf'), 'utf8')).toMatch(/server pumpcheck:8080 resolve/);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage, runs unprivileged, ships policies and has a healthcheck', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^COPY policies \.\/policies$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/CMD \["node", "dist\/src\/main\.js"\]/);
    for (const dir of ['src', 'hooks', 'cards']) expect(dockerfile).toContain(`COPY ${dir} ./${dir}`);
  });
});
