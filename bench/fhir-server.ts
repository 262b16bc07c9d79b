// Child-process wrapper around the loopback FHIR test server (test/support/fhir-server.ts: Medplum's FhirRouter and
// in-memory repository) for the fallback benchmark. A separate process so the server's CPU work — including searches
// the service abandoned at its budget — never runs inside the load generator, and ends when the process is stopped.
// Env: PORT, FHIR_TOKEN (bearer token required), SEED_FILE (JSON array of resources). Prints "fhir <url>" when ready.
import { readFileSync } from 'node:fs';
import type { Resource } from 'fhir/r4';
import { createServer } from 'node:http';
import { startFhirServer } from '../test/support/fhir-server.js';

const resources = JSON.parse(readFileSync(process.env.SEED_FILE ?? '', 'utf8')) as Resource[];
const server = await startFhirServer({ token: process.env.FHIR_TOKEN, resources });
process.stdout.write(`fhir ${server.url}\n`);
// Health endpoint on PORT so the parent can wait for readiness the same way as for the other children.
createServer((_req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => void server.close().finally(() => process.exit(0)));
