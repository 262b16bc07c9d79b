// Record gathering end to end against a real FHIR server on loopback (Medplum's FhirRouter + MemoryRepository).
import type {
  AllergyIntolerance,
  Bundle,
  Condition,
  Coverage,
  Device,
  Encounter,
  FhirResource,
  MedicationRequest,
  MedicationStatement,
  Observation,
  OperationOutcome,
  Patient,
  Procedure,
  QuestionnaireResponse,
} from 'fhir/r4';
import { afterEach, describe, expect, it } from 'vitest';
import type { CdsRequest, PrefetchValue } from '../src/cds/types.js';
import type { Config } from '../src/config.js';
import { gatherRecord, type GatheredRecord } from '../src/fhir/gather.js';
import { buildPrefetchTemplates } from '../src/fhir/prefetch.js';
import type { DataRequirement } from '../src/policy/requirements.js';
import { ValueSetStore } from '../src/policy/valuesets.js';
import { HttpError } from '../src/http/errors.js';
import { silentLogger } from '../src/logger.js';
import { closedPortUrl, startFhirServer, type TestFhirServer } from './support/fhir-server.js';

const TOKEN = 'ehr-issued-access-token-1234';
const LOINC = 'http://loinc.org';
const HCPCS_CMS = 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
const HCPCS_BLUEBUTTON = 'https://bluebutton.cms.gov/resources/codesystem/hcpcs';
const TEST_VALUE_SETS = new ValueSetStore([
  { id: 'labs', title: 'HbA1c and C-peptide', include: [{ system: LOINC, codes: ['4548-4', '1986-9'] }] },
  { id: 'untimed-c-peptide', title: 'untimed C-peptide', include: [{ system: LOINC, codes: ['1986-9'] }] },
]);
const need = (type: string, extra: Partial<DataRequirement> = {}): DataRequirement => ({ type, purpose: ['test'], ...extra });
/** The keys of the earlier fixed list, now derived from requirements (the `encounter` read is tested on its own). */
const allTemplates = buildPrefetchTemplates(
  ['Condition', 'Observation', 'MedicationStatement', 'MedicationRequest', 'Procedure', 'Encounter', 'Device', 'AllergyIntolerance', 'QuestionnaireResponse'].map(
    (type) => need(type, type === 'Observation' ? { valueSets: ['labs'] } : {}),
  ),
  TEST_VALUE_SETS,
);
const templates = allTemplates.filter((t) => t.key !== 'encounter');
// The loopback test server is allowed explicitly, as a deployment names its EHRs' FHIR servers.
const LOOPBACK = ['http://127.0.0.1:*'];
const FHIR: Config['fhir'] = { queryTimeoutMs: 1500, totalBudgetMs: 3000, maxPages: 10, pageSize: 500, serverAllowlist: LOOPBACK };
const SLOW: Config['fhir'] = { queryTimeoutMs: 200, totalBudgetMs: 400, maxPages: 10, pageSize: 500, serverAllowlist: LOOPBACK };
const ALL_KEYS = templates.map((t) => t.key);
const OPTIONAL_KEYS = templates.filter((t) => !t.required).map((t) => t.key);

const ref = (id = 'p1') => ({ reference: `Patient/${id}` });
const patient: Patient = { resourceType: 'Patient', id: 'p1', birthDate: '1970-01-01' };
const coverage: Coverage = {
  resourceType: 'Coverage',
  id: 'cov1',
  status: 'active',
  beneficiary: ref(),
  payor: [{ identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: 'medicare' } }],
};
const hba1c = (id: string, patientId = 'p1'): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  subject: ref(patientId),
  code: { coding: [{ system: LOINC, code: '4548-4' }] },
  valueQuantity: { value: 8.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
});
const unrelatedObservation: Observation = {
  resourceType: 'Observation',
  id: 'bp1',
  status: 'final',
  subject: ref(),
  code: { coding: [{ system: LOINC, code: '85354-9' }] },
};
const condition: Condition = {
  resourceType: 'Condition',
  id: 'dm1',
  subject: ref(),
  code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E10.9' }] },
};
const pump: Device = {
  resourceType: 'Device',
  id: 'pump1',
  patient: ref(),
  type: { coding: [{ system: HCPCS_CMS, code: 'E0784' }] },
};
const medStatement: MedicationStatement = {
  resourceType: 'MedicationStatement',
  id: 'ms1',
  status: 'active',
  subject: ref(),
  medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '86009' }] },
};
const medRequest: MedicationRequest = {
  resourceType: 'MedicationRequest',
  id: 'mr1',
  status: 'active',
  intent: 'order',
  subject: ref(),
  medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '86009' }] },
};
const procedure: Procedure = { resourceType: 'Procedure', id: 'pr1', status: 'completed', subject: ref() };
const encounter: Encounter = {
  resourceType: 'Encounter',
  id: 'enc1',
  status: 'finished',
  class: { code: 'AMB' },
  subject: ref(),
  period: { start: '2026-01-10' },
};
const allergy: AllergyIntolerance = { resourceType: 'AllergyIntolerance', id: 'al1', patient: ref() };
const qr: QuestionnaireResponse = { resourceType: 'QuestionnaireResponse', id: 'qr1', status: 'completed', subject: ref() };
const draftQr: QuestionnaireResponse = { resourceType: 'QuestionnaireResponse', id: 'qr2', status: 'in-progress', subject: ref() };
const otherPatientsCoverage: Coverage = { ...coverage, id: 'cov2', beneficiary: ref('p2') };

const chart: FhirResource[] = [
  patient,
  coverage,
  hba1c('a1c-1'),
  unrelatedObservation,
  condition,
  pump,
  medStatement,
  medRequest,
  procedure,
  encounter,
  allergy,
  qr,
  draftQr,
  { resourceType: 'Patient', id: 'p2' },
  otherPatientsCoverage,
  hba1c('a1c-p2', 'p2'),
];

const searchset = (resources: FhirResource[], extra: Partial<Bundle> = {}): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total: resources.length,
  entry: resources.map((resource) => ({ resource, search: { mode: 'match' } })),
  ...extra,
});
const outcome = (severity: 'error' | 'warning' = 'error'): OperationOutcome => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity, code: 'exception', details: { text: 'Query failed' } }],
});

const fullPrefetch = (): Record<string, PrefetchValue> => ({
  patient,
  coverage: searchset([coverage]),
  conditions: searchset([condition]),
  observations: searchset([hba1c('a1c-1')]),
  medicationStatements: searchset([medStatement]),
  medicationRequests: searchset([medRequest]),
  procedures: searchset([procedure]),
  encounters: searchset([encounter]),
  devices: searchset([pump]),
  allergies: searchset([allergy]),
  questionnaireResponses: searchset([qr]),
});

function hookRequest(options: {
  server?: string;
  token?: string | null;
  prefetch?: Record<string, PrefetchValue>;
}): CdsRequest {
  const request: CdsRequest = {
    hook: 'order-sign',
    hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
    context: {
      userId: 'Practitioner/u1',
      patientId: 'p1',
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [] },
    },
  };
  if (options.server) request.fhirServer = options.server;
  if (options.token !== null) {
    request.fhirAuthorization = {
      access_token: options.token ?? TOKEN,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'user/*.read',
      subject: 'pumpcheck',
    };
  }
  if (options.prefetch) request.prefetch = options.prefetch;
  return request;
}

const without = (prefetch: Record<string, PrefetchValue>, ...keys: string[]) => {
  const copy = { ...prefetch };
  for (const k of keys) delete copy[k];
  return copy;
};

const gather = (request: CdsRequest, fhir: Config['fhir'] = FHIR, extra: { requestTime?: number } = {}) =>
  gatherRecord({ request, patientId: 'p1', templates, fhir, logger: silentLogger, ...extra });

async function precondition(promise: Promise<GatheredRecord>): Promise<HttpError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  expect((err as HttpError).status).toBe(412);
  return err as HttpError;
}

let server: TestFhirServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
async function start(options: Parameters<typeof startFhirServer>[0] = {}): Promise<TestFhirServer> {
  server = await startFhirServer({ token: TOKEN, resources: chart, ...options });
  return server;
}

describe('gatherRecord: prefetch', () => {
  it('uses a complete prefetch without any query', async () => {
    const s = await start();
    const prefetch = fullPrefetch();
    const before = structuredClone(prefetch);
    const { record, sources, gaps, fetchMs } = await gather(hookRequest({ server: s.url, prefetch }));
    expect(s.requests).toHaveLength(0);
    expect(fetchMs).toBe(0);
    expect(gaps).toEqual([]);
    expect(Object.values(sources)).toEqual(ALL_KEYS.map(() => 'prefetch'));
    expect(record.patient?.id).toBe('p1');
    expect(record.all('Observation').map((o) => o.id)).toEqual(['a1c-1']);
    expect(record.size).toBe(11);
    expect(prefetch).toEqual(before); // prefetch objects are read, never changed
  });

  it('indexes the gathered record for lookups (HCPCS spelled the Blue Button way, references)', async () => {
    const { record } = await gather(hookRequest({ prefetch: fullPrefetch() }));
    expect(record.byCodes('Device', [{ system: HCPCS_BLUEBUTTON, code: 'E0784 ' }]).map((d) => d.id)).toEqual(['pump1']);
    expect(record.byCodes('Observation', [{ system: 'https://loinc.org', code: '4548-4' }])).toHaveLength(1);
    expect(record.byCodes('Observation', [{ system: LOINC, code: '1986-9' }])).toEqual([]);
    expect(record.resolve<Coverage>({ reference: 'Coverage/cov1' })?.status).toBe('active');
    expect(record.gapFor('Observation')).toBeUndefined();
  });

  it('treats a null key as "no data": no query, no gap', async () => {
    const s = await start();
    const prefetch = { ...fullPrefetch(), conditions: null, observations: null, coverage: null };
    const { record, sources, gaps } = await gather(hookRequest({ server: s.url, prefetch }));
    expect(s.requests).toHaveLength(0);
    expect(sources).toMatchObject({ conditions: 'prefetch-null', observations: 'prefetch-null', coverage: 'prefetch-null' });
    expect(record.all('Condition')).toEqual([]);
    expect(record.all('Coverage')).toEqual([]);
    expect(gaps).toEqual([]);
  });

  it('queries a key whose prefetch value is an OperationOutcome', async () => {
    const s = await start();
    const prefetch = { ...fullPrefetch(), coverage: outcome() };
    const { record, sources } = await gather(hookRequest({ server: s.url, prefetch }));
    expect(sources.coverage).toBe('fetched');
    expect(s.requests.map((r) => r.url)).toEqual(['/fhir/Coverage?patient=Patient/p1&status=active&_count=500']);
    expect(record.all('Coverage').map((c) => c.id)).toEqual(['cov1']);
  });

  it('queries a key whose prefetched Bundle carries an error outcome; warnings alone do not', async () => {
    const s = await start();
    const prefetch = {
      ...fullPrefetch(),
      conditions: searchset([outcome('error')]),
      devices: { ...searchset([pump]), entry: [{ resource: pump }, { resource: outcome('warning'), search: { mode: 'outcome' as const } }] },
    };
    const result = await gather(hookRequest({ server: s.url, prefetch }));
    expect(result.sources).toMatchObject({ conditions: 'fetched', devices: 'prefetch' });
    expect(s.requests.map((r) => r.url)).toEqual(['/fhir/Condition?patient=Patient/p1&_count=500']);
    expect(result.record.all('Device').map((d) => d.id)).toEqual(['pump1']);
    expect(result.warnings.join()).toMatch(/devices: 1 OperationOutcome entry/);
  });

  it("ignores resources of another patient or another type", async () => {
    const prefetch = {
      ...fullPrefetch(),
      coverage: searchset([coverage, otherPatientsCoverage]),
      observations: searchset([hba1c('a1c-1'), hba1c('a1c-p2', 'p2'), condition, { ...hba1c('no-subject'), subject: undefined }]),
      allergies: searchset([allergy, { ...allergy, id: 'al2', patient: { reference: 'https://ehr.example/fhir/Patient/p2' } }]),
    };
    const { record } = await gather(hookRequest({ prefetch }));
    expect(record.all('Coverage').map((c) => c.id)).toEqual(['cov1']);
    expect(record.all('Observation').map((o) => o.id)).toEqual(['a1c-1']);
    expect(record.all('Condition').map((c) => c.id)).toEqual(['dm1']); // from its own key only, once
    expect(record.all('AllergyIntolerance').map((a) => a.id)).toEqual(['al1']);

    const wrongPatient = await gather(hookRequest({ prefetch: { ...fullPrefetch(), patient: { resourceType: 'Patient', id: 'p2' } } }));
    expect(wrongPatient.record.patient).toBeUndefined();
  });
});

describe('gatherRecord: querying fhirServer for missing keys', () => {
  it('queries absent keys with the bearer token, in parallel, with Patient/<id> references and _count', async () => {
    const s = await start({ delayMs: 50 });
    const { record, sources, gaps, fetchMs } = await gather(hookRequest({ server: s.url }));
    expect(gaps).toEqual([]);
    expect(Object.entries(sources)).toEqual(ALL_KEYS.map((k) => [k, 'fetched']));
    expect(fetchMs).toBeGreaterThan(0);
    expect(s.requests).toHaveLength(11);
    expect(new Set(s.requests.map((r) => r.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
    expect(s.peakConcurrency).toBeGreaterThan(1);
    const urls = s.requests.map((r) => decodeURIComponent(r.url)).sort();
    expect(urls).toContain('/fhir/Patient/p1');
    expect(urls).toContain(`/fhir/Observation?patient=Patient/p1&code=${LOINC}|4548-4,${LOINC}|1986-9&_count=500`);
    expect(urls).toContain('/fhir/Encounter?patient=Patient/p1&_sort=-date&_count=100');
    expect(urls).toContain('/fhir/QuestionnaireResponse?patient=Patient/p1&status=completed,amended&_count=500');

    expect(record.patient?.id).toBe('p1');
    expect(record.all('Coverage').map((c) => c.id)).toEqual(['cov1']); // not p2's
    expect(record.all('Observation').map((o) => o.id)).toEqual(['a1c-1']); // code filter applied by the server
    expect(record.all('QuestionnaireResponse').map((q) => q.id)).toEqual(['qr1']); // completed only
    expect(record.byCodes('Device', [{ system: HCPCS_BLUEBUTTON, code: 'E0784' }])).toHaveLength(1);
    expect(record.size).toBe(11);
  });

  it('queries only the keys that are absent', async () => {
    const s = await start();
    const { sources } = await gather(hookRequest({ server: s.url, prefetch: without(fullPrefetch(), 'devices', 'encounters') }));
    expect(s.requests.map((r) => r.url.split('?')[0]).sort()).toEqual(['/fhir/Device', '/fhir/Encounter']);
    expect(sources).toMatchObject({ devices: 'fetched', encounters: 'fetched', patient: 'prefetch' });
  });

  it('gives a null record part (no Patient) when the patient read answers 404', async () => {
    const s = await start({ resources: [coverage] });
    const { record, sources } = await gather(hookRequest({ server: s.url, prefetch: without(fullPrefetch(), 'patient') }));
    expect(sources.patient).toBe('fetched');
    expect(record.patient).toBeUndefined();
  });
});

describe('gatherRecord: failures', () => {
  it('answers 412 naming the key when a required key cannot be fetched with a wrong token', async () => {
    const s = await start();
    const err = await precondition(gather(hookRequest({ server: s.url, token: 'stale-token', prefetch: without(fullPrefetch(), 'coverage') })));
    expect(err.message).toBe("Required data 'coverage' was not prefetched and could not be fetched: the FHIR server could not be reached");
    expect(err.expression).toEqual(['prefetch.coverage']);
    expect(err.message).not.toContain('stale-token');
    expect(s.requests[0]?.authorization).toBe('Bearer stale-token');
  });

  it('records a gap (not an error) when an optional key fails with a wrong token', async () => {
    const s = await start();
    const prefetch = { patient, coverage: searchset([coverage]) };
    const { record, sources, gaps } = await gather(hookRequest({ server: s.url, token: 'stale-token', prefetch }));
    expect(gaps.map((g) => g.key)).toEqual(OPTIONAL_KEYS);
    expect(gaps[0]).toEqual({
      key: 'conditions',
      resourceType: 'Condition',
      reason: 'was not prefetched and the FHIR query failed: the FHIR server could not be reached',
    });
    expect(sources.conditions).toBe('failed');
    expect(record.gapFor('Observation')?.key).toBe('observations');
    expect(record.all('Coverage')).toHaveLength(1);
  });

  it('answers 412 when a required key is missing and there is no fhirServer', async () => {
    const err = await precondition(gather(hookRequest({ prefetch: without(fullPrefetch(), 'patient') })));
    expect(err.message).toBe("Required data 'patient' was not prefetched and could not be fetched: the request has no fhirServer");
    expect(err.expression).toEqual(['prefetch.patient']);
  });

  it('says so when the required key was prefetched as an OperationOutcome', async () => {
    const err = await precondition(gather(hookRequest({ prefetch: { ...fullPrefetch(), coverage: outcome() } })));
    expect(err.message).toMatch(/^Required data 'coverage' was prefetched as an OperationOutcome and could not be fetched/);
  });

  it('bounds a slow server: 412 for a required key, a gap for an optional one, never a hang', async () => {
    const s = await start({ delayMs: 60_000 });
    const err = await precondition(gather(hookRequest({ server: s.url }), SLOW));
    expect(err.message).toMatch(/^Required data '(patient|coverage)' was not prefetched and could not be fetched: the FHIR server could not be reached$/);

    const { gaps, sources } = await gather(hookRequest({ server: s.url, prefetch: without(fullPrefetch(), 'observations') }), SLOW);
    expect(gaps).toEqual([
      { key: 'observations', resourceType: 'Observation', reason: 'was not prefetched and the FHIR query failed: the FHIR server could not be reached' },
    ]);
    expect(sources.observations).toBe('failed');
  });

  it('stops at the overall budget', async () => {
    const s = await start({ delayMs: 60_000 });
    // The hook request arrived long ago: no budget left for queries.
    const err = await precondition(gather(hookRequest({ server: s.url }), FHIR, { requestTime: Date.now() - 10_000 }));
    expect(err.message).toMatch(/could not be fetched: the FHIR server could not be reached$/);
  });

  it('answers 412 when the FHIR server is down', async () => {
    const err = await precondition(gather(hookRequest({ server: await closedPortUrl() })));
    expect(err.message).toMatch(/could not be fetched: the FHIR server could not be reached$/);
  });

  it('handles garbage and OperationOutcome answers: 412 for required keys, gaps for optional ones', async () => {
    const s = await start({ failWith: 'garbage' });
    const err = await precondition(gather(hookRequest({ server: s.url })));
    expect(err.message).toMatch(/could not be fetched: the FHIR server could not be reached$/);

    s.setBehaviour({ only: ['Observation', 'Condition'] });
    const garbage = await gather(hookRequest({ server: s.url }));
    expect(garbage.gaps.map((g) => [g.key, g.reason])).toEqual([
      ['conditions', 'was not prefetched and the FHIR query failed: the FHIR server could not be reached'],
      ['observations', 'was not prefetched and the FHIR query failed: the FHIR server could not be reached'],
    ]);
    expect(garbage.record.all('Device')).toHaveLength(1);

    s.setBehaviour({ failWith: 'operation-outcome', only: ['Procedure'] });
    const fiveHundred = await gather(hookRequest({ server: s.url }));
    expect(fiveHundred.gaps.map((g) => [g.key, g.reason])).toEqual([
      ['procedures', 'was not prefetched and the FHIR query failed: the FHIR server could not be reached'],
    ]);

    s.setBehaviour({ failWith: 'operation-outcome-200', only: ['Coverage'] });
    const ooErr = await precondition(gather(hookRequest({ server: s.url })));
    expect(ooErr.message).toMatch(/^Required data 'coverage' .* the FHIR server could not be reached$/);
  });

  it('keeps what a prefetch with errors did contain when the query fails, with a gap', async () => {
    const prefetch = { ...fullPrefetch(), coverage: searchset([coverage, outcome('error')]) };
    const { record, sources, gaps } = await gather(hookRequest({ prefetch }));
    expect(sources.coverage).toBe('prefetch');
    expect(record.all('Coverage')).toHaveLength(1);
    expect(gaps.map((g) => g.key)).toEqual(['coverage']);
  });
});

describe('gatherRecord: paging', () => {
  const many = Array.from({ length: 25 }, (_, i) => hba1c(`a1c-${String(i).padStart(2, '0')}`));

  it('reads every page (25 Observations, 10 per page)', async () => {
    const s = await start({ resources: [patient, coverage, ...many], maxPageSize: 10 });
    const { record, gaps } = await gather(hookRequest({ server: s.url, prefetch: without(fullPrefetch(), 'observations') }), {
      ...FHIR,
      pageSize: 10,
    });
    expect(record.all('Observation')).toHaveLength(25);
    expect(gaps).toEqual([]);
    expect(s.requests).toHaveLength(3);
    expect(s.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('stops at the page cap and reports the key as a truncation gap', async () => {
    const s = await start({ resources: [patient, coverage, ...many], maxPageSize: 10 });
    const { record, gaps, sources } = await gather(hookRequest({ server: s.url, prefetch: without(fullPrefetch(), 'observations') }), {
      ...FHIR,
      pageSize: 10,
      maxPages: 2,
    });
    expect(record.all('Observation')).toHaveLength(20);
    expect(sources.observations).toBe('fetched');
    expect(gaps).toEqual([
      {
        key: 'observations',
        resourceType: 'Observation',
        reason: 'only the first 20 results were read (page cap reached); older or further data may exist',
      },
    ]);
    expect(s.requests).toHaveLength(2);
  });

  it('follows the next link of a prefetched Bundle on fhirServer', async () => {
    const s = await start({ resources: [patient, coverage, ...many], maxPageSize: 10 });
    const firstPage = (await (
      await fetch(`${s.url}/Observation?patient=Patient/p1&_count=10`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    ).json()) as Bundle;
    expect(firstPage.link?.some((l) => l.relation === 'next')).toBe(true);
    s.requests.length = 0;

    const prefetch = { ...fullPrefetch(), observations: firstPage };
    const { record, sources, gaps } = await gather(hookRequest({ server: s.url, prefetch }));
    expect(sources.observations).toBe('prefetch');
    expect(record.all('Observation')).toHaveLength(25);
    expect(gaps).toEqual([]);
    expect(s.requests).toHaveLength(2);

    // Without a server to page on, the first page is kept and the rest is a gap.
    const offline = await gather(hookRequest({ prefetch }));
    expect(offline.record.all('Observation')).toHaveLength(10);
    expect(offline.gaps.map((g) => g.key)).toEqual(['observations']);
    expect(offline.gaps[0]?.reason).toMatch(/more pages that could not be read: the request has no fhirServer/);
  });
});

describe('gatherRecord: what the derived templates bring', () => {
  const labs = buildPrefetchTemplates(
    [
      need('Observation', { valueSets: ['labs'] }),
      need('Observation', { valueSets: ['untimed-c-peptide'], include: ['Observation:specimen'] }),
      need('MedicationRequest', { include: ['MedicationRequest:medication'] }),
      need('DeviceUseStatement', { include: ['DeviceUseStatement:device'] }),
      need('ServiceRequest'),
      need('Encounter'),
    ],
    TEST_VALUE_SETS,
    // Short enough that each lab code gets a key of its own: the C-peptide then comes under two keys.
    120,
  );
  const cPeptide: Observation = {
    resourceType: 'Observation',
    id: 'cp1',
    status: 'final',
    subject: ref(),
    code: { coding: [{ system: LOINC, code: '1986-9' }] },
    specimen: { reference: 'Specimen/sp1' },
  };
  const specimen = { resourceType: 'Specimen', id: 'sp1', subject: ref() } as FhirResource;
  const otherSpecimen = { resourceType: 'Specimen', id: 'sp2', subject: ref('p2') } as FhirResource;
  const medication = { resourceType: 'Medication', id: 'med1', code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '86009' }] } } as FhirResource;
  const dus = { resourceType: 'DeviceUseStatement', id: 'dus1', status: 'active', subject: ref(), device: { reference: 'Device/pump1' } } as FhirResource;
  const serviceRequest = { resourceType: 'ServiceRequest', id: 'sr1', status: 'active', intent: 'order', subject: ref() } as FhirResource;
  const withMed: MedicationRequest = { ...medRequest, id: 'mr2', medicationCodeableConcept: undefined, medicationReference: { reference: 'Medication/med1' } };
  const include = (resource: FhirResource) => ({ resource, search: { mode: 'include' as const } });
  const keyOf = (template: string) => labs.find((t) => t.template.includes(template))!.key;
  it('splits the lab codes over two keys, each with the Specimen include', () => {
    expect(labs.filter((t) => t.resourceType === 'Observation').map((t) => [t.key, t.includedTypes])).toEqual([
      ['observations', ['Specimen']],
      ['observations2', ['Specimen']],
    ]);
  });
  const gatherLabs = (request: CdsRequest) => gatherRecord({ request, patientId: 'p1', templates: labs, fhir: FHIR, logger: silentLogger });

  it('keeps _include-d resources of the included types for this patient, and drops everything else', async () => {
    const prefetch: Record<string, PrefetchValue> = {
      patient,
      coverage: searchset([coverage]),
      [keyOf('1986-9')]: { ...searchset([cPeptide]), entry: [{ resource: cPeptide }, include(specimen), include(otherSpecimen), include(condition)] },
      // Included entries without search.mode (clients often leave it out) count too; a Medication names no patient.
      [keyOf('MedicationRequest:medication')]: { ...searchset([withMed]), entry: [{ resource: withMed }, { resource: medication }] },
      [keyOf('DeviceUseStatement')]: { ...searchset([dus]), entry: [{ resource: dus }, include(pump)] },
      [keyOf('ServiceRequest')]: searchset([serviceRequest]),
    };
    const { record, sources, gaps } = await gatherLabs(hookRequest({ prefetch: { ...prefetch, observations: searchset([hba1c('a1c-1'), cPeptide]) } }));
    expect(record.all('Specimen').map((s) => s.id)).toEqual(['sp1']);
    expect(record.resolve(cPeptide.specimen)?.id).toBe('sp1');
    expect(record.all('Condition')).toEqual([]); // not a type this key asks for
    expect(record.resolve<MedicationRequest>('MedicationRequest/mr2')).toBeDefined();
    expect(record.byCodes('MedicationRequest', [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '86009' }]).map((m) => m.id)).toEqual(['mr2']);
    expect(record.byCodes('DeviceUseStatement', [{ system: HCPCS_CMS, code: 'E0784' }]).map((d) => d.id)).toEqual(['dus1']);
    expect(record.all('ServiceRequest').map((s) => s.id)).toEqual(['sr1']);
    // The C-peptide came under two keys: kept once.
    expect(record.all('Observation').map((o) => o.id)).toEqual(['a1c-1', 'cp1']);
    // No encounterId in the context: the encounter read does not apply (no query, no gap).
    expect(sources.encounter).toBe('not-applicable');
    expect(gaps.map((g) => g.key)).toEqual(['encounters']);
  });

  it('queries the includes and the encounter read from fhirServer when they are not prefetched', async () => {
    const s = await start({ resources: [...chart, cPeptide, specimen, otherSpecimen, medication, withMed, dus, serviceRequest] });
    const request = hookRequest({ server: s.url });
    (request.context as Record<string, unknown>).encounterId = 'enc1';
    const { record, sources, gaps } = await gatherLabs(request);
    expect(gaps).toEqual([]);
    expect(sources.encounter).toBe('fetched');
    expect(s.requests.map((r) => decodeURIComponent(r.url))).toEqual(
      expect.arrayContaining([
        '/fhir/Encounter/enc1',
        `/fhir/Observation?patient=Patient/p1&code=${LOINC}|1986-9&_include=Observation:specimen&_count=500`,
        '/fhir/DeviceUseStatement?patient=Patient/p1&_include=DeviceUseStatement:device&_count=500',
      ]),
    );
    expect(record.all('Specimen').map((x) => x.id)).toEqual(['sp1']);
    expect(record.all('Medication').map((x) => x.id)).toEqual(['med1']);
    expect(record.resolve('Device/pump1')).toBeDefined();
    expect(record.all('Observation').map((o) => o.id).sort()).toEqual(['a1c-1', 'cp1']);
    expect(record.all('Encounter').map((e) => e.id)).toEqual(['enc1']);
  });
});
