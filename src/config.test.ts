import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const issuers = JSON.stringify({ 'https://ehr.example.org': { jwksUrl: 'https://ehr.example.org/jwks.json' } });
const prod = { NODE_ENV: 'production', PATIENT_HASH_SECRET: 's'.repeat(32), CDS_TRUSTED_ISSUERS: issuers, PUBLIC_BASE_URL: 'https://cds.example.org' };

describe('loadConfig', () => {
  it('starts on embedded defaults with no environment at all', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.auth.trustedIssuers).toEqual({});
    expect(c.auth.algorithms).toEqual(['ES384', 'RS384']);
    expect(c.crd.version).toBe('2.0.1');
    expect(c.crd.topicSystem).toBe('http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp');
    expect(c.store.databaseUrl).toBeUndefined();
    expect(c.fhir.queryTimeoutMs).toBeLessThan(c.fhir.totalBudgetMs);
    expect(c.fhir.totalBudgetMs).toBeLessThan(5000);
  });

  it('refuses to start in production without trusted issuers or a patient hash secret', () => {
    expect(() => loadConfig({ ...prod, CDS_TRUSTED_ISSUERS: '' })).toThrow(/No trusted issuers configured/);
    expect(() => loadConfig({ ...prod, PATIENT_HASH_SECRET: '' })).toThrow(/PATIENT_HASH_SECRET/);
    expect(() => loadConfig({ ...prod, PUBLIC_BASE_URL: '' })).toThrow(/PUBLIC_BASE_URL must be set/);
    expect(loadConfig(prod).nodeEnv).toBe('production');
  });

  it('reads trusted issuers from a file, with exactly one key source each', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pc-cfg-'));
    const file = path.join(dir, 'issuers.json');
    // Raw JSON: an issuer literally named "__proto__" must be kept as an issuer (not become the object's prototype).
    writeFileSync(file, '{"a": {"jwks": {"keys": []}}, "__proto__": {"jwksUrl": "https://x.example/j"}}');
    const c = loadConfig({ CDS_TRUSTED_ISSUERS_FILE: file });
    expect(Object.keys(c.auth.trustedIssuers).sort()).toEqual(['__proto__', 'a']);
    expect(() => loadConfig({ CDS_TRUSTED_ISSUERS: JSON.stringify({ a: { jwksUrl: 'https://x/j', jwks: { keys: [] } } }) })).toThrow(/exactly one/);
    expect(() => loadConfig({ CDS_TRUSTED_ISSUERS: '{not json' })).toThrow(/not valid JSON/);
    expect(() => loadConfig({ CDS_TRUSTED_ISSUERS_FILE: path.join(dir, 'missing.json') })).toThrow(/cannot be read/);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ JWT_ALGORITHMS: 'ES384,none' }, /must not contain "none"/],
    [{ JWT_ALGORITHMS: 'HS256' }, /must not contain "HS256"/],
    [{ CRD_VERSION: '3.0' }, /CRD_VERSION/],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, /PUBLIC_BASE_URL/],
    [{ FHIR_QUERY_TIMEOUT_MS: '5000', FHIR_TOTAL_BUDGET_MS: '1000' }, /must not exceed/],
    [{ CARD_FINDING_INDICATOR: 'hard-stop' }, /CARD_FINDING_INDICATOR/],
    [{ ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN/],
    [{ WEB_CONCURRENCY: '2' }, /needs DATABASE_URL/],
    [{ CARD_INFO_WHEN_COVERED: 'maybe' }, /true or false/],
  ])('names the variable for a bad value: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('switches the card topic system with CRD_VERSION=2.2, and keeps one per version for requestedVersion', () => {
    expect(loadConfig({ CRD_VERSION: '2.2' }).crd.topicSystem).toBe('http://terminology.hl7.org/CodeSystem/cdshooks-card-type');
    expect(loadConfig({}).crd.topicSystems['2.2']).toBe('http://terminology.hl7.org/CodeSystem/cdshooks-card-type');
    expect(loadConfig({ CRD_TOPIC_SYSTEM: 'http://x.example/topics' }).crd.topicSystems).toEqual({
      '2.0.1': 'http://x.example/topics',
      '2.2': 'http://x.example/topics',
    });
  });
});
