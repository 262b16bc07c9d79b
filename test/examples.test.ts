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
    expect(readdirSync(DIR).sort()).toEqual([...FILES.map((f) => f.file), 'README.md'].sort());
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
