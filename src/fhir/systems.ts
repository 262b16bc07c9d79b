// Code system URIs, in one place. HCPCS is spelled three ways in the wild (record.ts folds them when matching):
// HL7's terminology server names the http:// form canonical, while the Da Vinci CRD IG (and so what EHRs validating
// against it expect back) uses https://.
export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const UCUM = 'http://unitsofmeasure.org';
export const CPT = 'http://www.ama-assn.org/go/cpt';
/** HCPCS as matched and stored in value sets (THO canonical). */
export const HCPCS = 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
/** HCPCS as emitted in CRD artefacts (billingCode, updated orders): the CRD IG's alias. */
export const HCPCS_CRD = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
/** Blue Button's HCPCS URI, used by Inferno's CRD fixtures. */
export const HCPCS_BLUEBUTTON = 'https://bluebutton.cms.gov/resources/codesystem/hcpcs';
