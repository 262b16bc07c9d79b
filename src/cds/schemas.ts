// JSON Schemas (draft 2020-12) for CDS Hooks 2.0 requests, responses, feedback and discovery, derived from the
// CDS Hooks 2.0 logical models and invariants (cds-r-*, cds-resp-*, cds-fb-*) and the hook library's order-sign /
// order-select contexts. Inbound validation is lenient about unknown members (CRD found-33: ignore them); the
// response schema is what every card and response this service emits must satisfy (CDS Hooks + the CRD overlay:
// uuid on cards and suggestions, source.topic, description on actions).
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

const UUID = '^(urn:uuid:)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const BARE_UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const FHIR_ID = '^[A-Za-z0-9\\-.]{1,64}$';
/** ord-1: `Practitioner/abc`, `PractitionerRole/123`, also Patient/RelatedPerson users. */
const USER_REF = '^(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\\-.]{1,64}$';
const RESOURCE_REF = '^[A-Z][A-Za-z]+/[A-Za-z0-9\\-.]{1,64}$';

const nonEmpty = { type: 'string', minLength: 1 } as const;

const orderContext = (withSelections: boolean) => ({
  type: 'object',
  required: withSelections ? ['userId', 'patientId', 'draftOrders', 'selections'] : ['userId', 'patientId', 'draftOrders'],
  properties: {
    userId: { type: 'string', pattern: USER_REF },
    patientId: { type: 'string', pattern: FHIR_ID },
    encounterId: { type: 'string', pattern: FHIR_ID },
    selections: { type: 'array', minItems: 1, items: { type: 'string', pattern: RESOURCE_REF } },
    draftOrders: {
      type: 'object',
      required: ['resourceType'],
      properties: {
        resourceType: { const: 'Bundle' },
        entry: {
          type: 'array',
          items: {
            type: 'object',
            required: ['resource'],
            properties: {
              fullUrl: nonEmpty,
              resource: {
                type: 'object',
                required: ['resourceType', 'id'],
                properties: {
                  resourceType: { type: 'string', pattern: '^[A-Z][A-Za-z]+$' },
                  id: { type: 'string', pattern: FHIR_ID },
                },
              },
            },
          },
        },
      },
    },
  },
});

export const requestSchema = {
  $id: 'urn:pumpcheck:schema:cds-request',
  type: 'object',
  required: ['hook', 'hookInstance', 'context'],
  properties: {
    hook: nonEmpty,
    hookInstance: { type: 'string', pattern: UUID },
    fhirServer: { type: 'string', format: 'uri', pattern: '^https?://' },
    fhirAuthorization: {
      type: 'object',
      required: ['access_token', 'token_type', 'expires_in', 'scope', 'subject'],
      properties: {
        access_token: nonEmpty,
        token_type: { type: 'string', pattern: '^[Bb]earer$' },
        expires_in: { type: 'integer', minimum: 0 },
        scope: nonEmpty,
        subject: nonEmpty,
        patient: nonEmpty,
      },
    },
    context: { type: 'object' },
    prefetch: {
      type: 'object',
      additionalProperties: {
        anyOf: [{ type: 'null' }, { type: 'object', required: ['resourceType'], properties: { resourceType: nonEmpty } }],
      },
    },
    extension: { type: 'object' },
  },
  // cds-r-1: fhirAuthorization implies fhirServer.
  dependentRequired: { fhirAuthorization: ['fhirServer'] },
  allOf: [
    { if: { required: ['hook'], properties: { hook: { const: 'order-sign' } } }, then: { properties: { context: orderContext(false) } } },
    { if: { required: ['hook'], properties: { hook: { const: 'order-select' } } }, then: { properties: { context: orderContext(true) } } },
  ],
} as const;

export const feedbackSchema = {
  $id: 'urn:pumpcheck:schema:cds-feedback',
  type: 'object',
  required: ['feedback'],
  properties: {
    feedback: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['card', 'outcome', 'outcomeTimestamp'],
        properties: {
          card: nonEmpty,
          outcome: { enum: ['accepted', 'overridden'] },
          acceptedSuggestions: {
            type: 'array',
            minItems: 1,
            items: { type: 'object', required: ['id'], properties: { id: nonEmpty } },
          },
          overrideReason: {
            type: 'object',
            minProperties: 1,
            properties: {
              reason: {
                type: 'object',
                required: ['system', 'code'],
                properties: { system: nonEmpty, code: nonEmpty, display: nonEmpty },
              },
              userComment: nonEmpty,
            },
          },
          // RFC 3339 date-time (the spec asks for UTC; offsets are accepted and normalised on storage).
          outcomeTimestamp: { type: 'string', format: 'date-time' },
        },
        allOf: [
          { if: { required: ['outcome'], properties: { outcome: { const: 'accepted' } } }, then: { required: ['acceptedSuggestions'] } },
          // cds-fb-3: an override reason carries a reason or a comment.
          {
            if: { required: ['overrideReason'] },
            then: { properties: { overrideReason: { anyOf: [{ required: ['reason'] }, { required: ['userComment'] }] } } },
          },
        ],
      },
    },
  },
} as const;

const coding = {
  type: 'object',
  required: ['system', 'code'],
  properties: { system: nonEmpty, code: nonEmpty, display: nonEmpty },
} as const;

const action = {
  type: 'object',
  required: ['type', 'description'],
  properties: {
    type: { enum: ['create', 'update', 'delete'] },
    description: nonEmpty,
    resource: { type: 'object', required: ['resourceType'], properties: { resourceType: { type: 'string', pattern: '^[A-Z][A-Za-z]+$' } } },
    resourceId: { type: 'string', pattern: RESOURCE_REF },
    extension: { type: 'object', minProperties: 1 },
  },
  allOf: [
    { if: { properties: { type: { enum: ['create', 'update'] } } }, then: { required: ['resource'] } },
    // cds-resp-2: delete carries resourceId and no resource.
    { if: { properties: { type: { const: 'delete' } } }, then: { required: ['resourceId'], not: { required: ['resource'] } } },
  ],
} as const;

export const responseSchema = {
  $id: 'urn:pumpcheck:schema:cds-response',
  type: 'object',
  required: ['cards'],
  additionalProperties: false,
  properties: {
    cards: {
      type: 'array',
      items: {
        type: 'object',
        // CRD overlay: uuid 1..1 on cards.
        required: ['uuid', 'summary', 'indicator', 'source'],
        additionalProperties: false,
        properties: {
          uuid: { type: 'string', pattern: BARE_UUID },
          summary: { type: 'string', minLength: 1, maxLength: 139 },
          detail: nonEmpty,
          indicator: { enum: ['info', 'warning', 'critical'] },
          source: {
            type: 'object',
            // CRD resp-5: topic SHALL be populated.
            required: ['label', 'topic'],
            additionalProperties: false,
            properties: {
              label: nonEmpty,
              url: { type: 'string', format: 'uri', pattern: '^https?://' },
              icon: { type: 'string', format: 'uri', pattern: '^https?://' },
              topic: coding,
            },
          },
          suggestions: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['label', 'uuid'],
              additionalProperties: false,
              properties: {
                label: nonEmpty,
                uuid: { type: 'string', pattern: BARE_UUID },
                isRecommended: { type: 'boolean' },
                actions: { type: 'array', minItems: 1, items: action },
              },
            },
          },
          selectionBehavior: { enum: ['at-most-one', 'any'] },
          overrideReasons: {
            type: 'array',
            minItems: 1,
            // cds-resp-4: every override reason has a display.
            items: { ...coding, required: ['system', 'code', 'display'] },
          },
          links: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['label', 'url', 'type'],
              additionalProperties: false,
              properties: {
                label: nonEmpty,
                url: { type: 'string', format: 'uri', pattern: '^https?://' },
                type: { enum: ['absolute', 'smart'] },
                appContext: nonEmpty,
                autolaunchable: { type: 'boolean' },
              },
              // cds-resp-3: appContext only on smart links.
              if: { properties: { type: { const: 'absolute' } } },
              then: { not: { required: ['appContext'] } },
            },
          },
          extension: { type: 'object', minProperties: 1 },
        },
        // cds-resp-6: suggestions imply selectionBehavior.
        dependentRequired: { suggestions: ['selectionBehavior'] },
        // cds-resp-1: at-most-one allows at most one recommended suggestion.
        if: { required: ['selectionBehavior'], properties: { selectionBehavior: { const: 'at-most-one' } } },
        then: {
          properties: {
            suggestions: {
              contains: { type: 'object', required: ['isRecommended'], properties: { isRecommended: { const: true } } },
              minContains: 0,
              maxContains: 1,
            },
          },
        },
      },
    },
    systemActions: { type: 'array', minItems: 1, items: action },
  },
} as const;

export const discoverySchema = {
  $id: 'urn:pumpcheck:schema:cds-discovery',
  type: 'object',
  required: ['services'],
  additionalProperties: false,
  properties: {
    services: {
      type: 'array',
      items: {
        type: 'object',
        required: ['hook', 'description', 'id'],
        additionalProperties: false,
        properties: {
          hook: nonEmpty,
          title: nonEmpty,
          description: nonEmpty,
          id: { type: 'string', pattern: '^[A-Za-z0-9\\-._~]+$' },
          usageRequirements: nonEmpty,
          prefetch: { type: 'object', minProperties: 1, additionalProperties: nonEmpty },
          extension: {
            type: 'object',
            properties: {
              'davinci-crd.version': { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[1-9]\\d*\\.\\d+(\\.\\d+)?$' } },
              'davinci-crd.configuration-options': {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  required: ['code', 'type', 'name', 'description', 'default'],
                  additionalProperties: false,
                  properties: {
                    code: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9\\-_]*$' },
                    type: { enum: ['boolean', 'integer'] },
                    name: nonEmpty,
                    description: nonEmpty,
                    default: { type: ['boolean', 'integer'] },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false, allowUnionTypes: true });
addFormats(ajv);

// Compiled at first use: the request schema on the first hook call (≈ 70 ms once), feedback on the first feedback;
// the response and discovery schemas only ever run in tests. None of them is on the start-up path (issue 14).
const schemas = { request: requestSchema, feedback: feedbackSchema, response: responseSchema, discovery: discoverySchema };
const compiledCache: Partial<Record<keyof typeof schemas, ValidateFunction>> = {};
function compiled(name: keyof typeof schemas): ValidateFunction {
  return (compiledCache[name] ??= ajv.compile(schemas[name]));
}

export interface SchemaIssue {
  /** FHIRPath-like location, e.g. `context.draftOrders.entry[0].resource.id`. */
  path: string;
  message: string;
}

function toPath(error: ErrorObject): string {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required' || error.keyword === 'dependentRequired') {
    const missing = (error.params as { missingProperty?: string }).missingProperty;
    if (missing) segments.push(missing);
  }
  let out = '';
  for (const s of segments) out += /^\d+$/.test(s) ? `[${s}]` : out ? `.${s}` : s;
  return out || '(root)';
}

function describe(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
    case 'dependentRequired':
      return 'is required';
    case 'pattern':
      return `has an invalid format`;
    case 'const':
      return `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
    case 'enum':
      return `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** Drop the noise ajv adds for failed if/then and anyOf wrappers; keep the errors that name a field. */
function issues(validate: ValidateFunction, body: unknown): SchemaIssue[] {
  if (validate(body)) return [];
  const out: SchemaIssue[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'allOf') continue;
    const issue = { path: toPath(e), message: describe(e) };
    const key = `${issue.path}|${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  return out;
}

/** Compiles the hook-request and feedback validators now (called once the server listens, before the first call). */
export function prepareRequestValidation(): void {
  compiled('request');
  compiled('feedback');
}

export const validateRequest = (body: unknown): SchemaIssue[] => issues(compiled('request'), body);
export const validateFeedback = (body: unknown): SchemaIssue[] => issues(compiled('feedback'), body);
export const validateDiscovery = (body: unknown): string[] =>
  issues(compiled('discovery'), body).map((i) => `${i.path} ${i.message}`);
/** Every response this service emits must pass this (tests run it over every response). */
export const validateCdsResponse = (body: unknown): string[] =>
  issues(compiled('response'), body).map((i) => `${i.path} ${i.message}`);
