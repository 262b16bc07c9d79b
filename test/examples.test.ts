// examples/: the committed requests are exactly what `npm run examples` generates, each is a valid CDS Hooks request,
// and each gets its expected outcome from the real app (the fallback example through a loopback FHIR server).
import { readFileSync, readdirSync } from 'node:fs';
import type { Extension } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCoverageInformation } from '../cards/checks.js';
import { COVERAGE_INFORMATION_URL } from '../cards/coverage-information.js';
import { validateCdsResponse, validateRequest } from '../src/cds/schemas.js';
import type { Action, Card } from '../src/cds/types.js';
import { testApp } from './support/app.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { defaultTemplates } from './support/prefetch.js';
import { caseExampleFiles, caseExamplesReadme } from './fixtures/case-examples.js';
import { DEMO_ACCESS_TOKEN, DEMO_FHIR_SERVER, exampleFiles, exampleJson, examplesReadme, scenarioBySlug } from './fixtures/scenarios.js';

const DIR = new URL('../examples/', import.meta.url);
const FILES = exampleFiles();
const read = (name: string) => readFileSync(new URL(name, DIR), 'utf8');

// Generous FHIR timeouts: the demo server holds every example patient and Medplum's in-memory search is slow on a busy
// machine; this file checks outcomes, not timing.
const t = testApp({ FHIR_QUERY_TIMEOUT_MS: '15000', FHIR_TOTAL_BUDGET_MS: '25000' });
let fhir: TestFhirServer;
beforeAll(async () => {
  // The fallback example's patient, behind the token the example carries.
  fhir = await startFhirServer({ token: DEMO_ACCESS_TOKEN, resources: scenarioBySlug('criteria-met').patientResources });
});
afterAll(async () => {
  t.close();
  await fhir?.close();
});

describe('examples/ is what the generator writes', () => {
  it('holds exactly the generated files and the README', () => {
    expect(readdirSync(DIR).sort()).toEqual([...FILES.map((f) => f.file), 'README.md', 'cases'].sort());
    // The top-level README's curl example posts this file.
    expect(FILES.map((f) => f.file)).toContain('order-sign-criteria-met.json');
  });

  it.each(FILES.map((f) => [f.file, f] as const))('%s has not drifted from the generator', (file, f) => {
    expect(read(file) === exampleJson(f.body), `examples/${file} differs from test/fixtures/scenarios.ts: run npm run examples`).toBe(true);
    // Regenerating gives the same request (fixed hookInstance, no clock, no randomness).
    expect(exampleJson(exampleFiles().find((x) => x.file === file)!.body)).toBe(exampleJson(f.body));
  });

  it('README.md lists every file with its situation and expected outcome', () => {
    const readme = read('README.md');
    expect(readme).toBe(examplesReadme(FILES));
    for (const f of FILES) expect(readme).toContain(`[\`${f.file}\`](${f.file})`);
  });
});

describe.each(FILES.map((f) => [f.file, f] as const))('%s', (file, f) => {
  const body = JSON.parse(read(file)) as Record<string, any>;

  it('is a valid CDS Hooks request, ready to POST', () => {
    expect(validateRequest(body)).toEqual([]);
    expect(body.hook).toBe(f.hook);
    if (f.mode === 'fallback') {
      expect(body.prefetch).toBeUndefined();
      expect(body.fhirServer).toBe(DEMO_FHIR_SERVER);
      expect(body.fhirAuthorization.access_token).toBe(DEMO_ACCESS_TOKEN);
    } else {
      expect(Object.keys(body.prefetch).sort()).toEqual(
        defaultTemplates().map((t) => t.key).filter((k) => k !== 'encounter').sort(),
      );
      expect(body.fhirServer).toBeUndefined();
    }
  });

  it('gets the expected outcome from the service', async () => {
    const sent = f.mode === 'fallback' ? { ...body, fhirServer: fhir.url } : body;
    const path = `/cds-services/pumpcheck-${f.hook}`;
    const res = await request(t.app).post(path).send(sent);
    expect(res.status).toBe(200);
    expect(validateCdsResponse(res.body)).toEqual([]);
    const s = scenarioBySlug(f.slug);
    const actions = (res.body.systemActions ?? []) as Action[];
    const action = actions.find((a) => `${a.resource?.resourceType}/${a.resource?.id}` === s.primaryOrderRef);
    const ext = ((action?.resource as { extension?: Extension[] } | undefined)?.extension ?? []).find((e) => e.url === COVERAGE_INFORMATION_URL);
    expect(ext, 'coverage-information on the primary order').toBeDefined();
    expect(checkCoverageInformation(ext, { crdVersion: '2.0.1', hook: f.hook })).toEqual([]);
    expect(ext!.extension!.find((e) => e.url === 'covered')?.valueCode).toBe(f.expected.outcome);
    const cards = (res.body.cards as Card[]).filter((c) => c.source.topic?.code === 'coverage-info' && JSON.stringify(c).includes(s.primaryOrderRef));
    if (f.expected.cardIndicator) expect(cards[0]?.indicator).toBe(f.expected.cardIndicator);
    else expect(cards).toEqual([]);
    if (f.mode === 'fallback') expect(fhir.requests.some((r) => r.authorization === `Bearer ${DEMO_ACCESS_TOKEN}`)).toBe(true);
  });
});

// examples/cases/: one request per policy test case. The policy-case runner checks each case over HTTP in both modes;
// here the committed file itself (its in-memory prefetch) must give every order the case's outcome.
const CASE_FILES = caseExampleFiles();
const CASES_DIR = new URL('cases/', DIR);
const COVERED_FOR_OUTCOME: Record<string, string[]> = {
  covered: ['covered'],
  'not-covered': ['not-covered'],
  conditional: ['conditional'],
  indeterminate: ['conditional'],
};

describe('examples/cases/ is what the generator writes', () => {
  it('holds one file per case, in one folder per policy, and the index', () => {
    const onDisk = readdirSync(CASES_DIR, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? readdirSync(new URL(`${d.name}/`, CASES_DIR)).map((f) => `cases/${d.name}/${f}`) : [`cases/${d.name}`],
    );
    expect(onDisk.sort()).toEqual([...CASE_FILES.map((f) => f.file), 'cases/README.md'].sort());
    expect(read('cases/README.md')).toBe(caseExamplesReadme(CASE_FILES));
  });
});

describe.each(CASE_FILES.map((f) => [f.file, f] as const))('%s', (file, f) => {
  it('has not drifted from its case, and gives every order the expected outcome', async () => {
    const text = read(file);
    expect(text === exampleJson(f.body), `examples/${file} differs from policies/tests: run npm run examples`).toBe(true);
    const body = JSON.parse(text) as Record<string, any>;
    expect(validateRequest(body)).toEqual([]);
    const res = await request(t.app).post(`/cds-services/pumpcheck-${f.hook}`).send(body);
    expect(res.status).toBe(200);
    expect(validateCdsResponse(res.body)).toEqual([]);
    for (const [ref, e] of Object.entries(f.expected)) {
      const action = ((res.body.systemActions ?? []) as Action[]).find((a) => `${a.resource?.resourceType}/${a.resource?.id}` === ref);
      const ext = ((action?.resource as { extension?: Extension[] } | undefined)?.extension ?? []).find((x) => x.url === COVERAGE_INFORMATION_URL);
      const covered = ext?.extension?.find((x) => x.url === 'covered')?.valueCode;
      if (e.outcome === 'no-policy') expect(covered, `${ref}: no coverage-information without a policy`).toBeUndefined();
      else expect(COVERED_FOR_OUTCOME[e.outcome] ?? [e.outcome], `${ref}: covered = ${covered}`).toContain(covered);
    }
  });
});
