// The Medicare external-pump policy test cases (issue 9), one emit() per case file. Run with run.mjs.
import { emit, cond, obs, qr, encounter, device, devOrder, drugOrder, met, withSubject } from './lib.mjs';

// ---- shared pieces -------------------------------------------------------------------------------------------------
const GEN = ['ext-pump-in-order-set', 'ext-pump-on-record', 'ext-home-setting'];
const VSETS = ['v-home-parenteral-reasonable', 'v-pump-needed-for-safety', 'v-set1-advantage'];
const SET1 = { 'v-home-parenteral': true, 'v-pump-necessary': true, 'v-infusion-8h-or-more': true, 'v-prolonged-advantage': true };
const SET2 = { 'v-home-parenteral': true, 'v-pump-necessary': true, 'v-infusion-8h-or-more': false, 'v-no-office-return': true, 'v-controlled-rate-toxicity': true };
const PUMP = 'DeviceRequest/dr-pump';
const MR = 'MedicationRequest/mr-drug';
const pumpWith = (code, extra = {}) => devOrder('dr-pump', code, { basedOn: MR, ...extra });
const DRUGS = {
  deferoxamine: { rx: ['3131', 'deferoxamine'], hcpcs: ['J0895', 'Injection, deferoxamine mesylate, 500 mg'], text: 'Deferoxamine mesylate 2 g in 10 mL sterile water, subcutaneous over 10 hours' },
  fluorouracil: { hcpcs: ['J9190', 'Injection, fluorouracil, 500 mg'], text: 'Fluorouracil 2,400 mg/m2 continuous infusion over 46 hours' },
  oxaliplatin: { hcpcs: ['J9263', 'Injection, oxaliplatin, 0.5 mg'], text: 'Oxaliplatin 85 mg/m2 infusion' },
  morphine: { rx: ['7052', 'morphine'], text: 'Morphine sulfate 1 mg/mL in NS, continuous infusion' },
  morphineText: { text: 'Morphine sulfate 1 mg/mL in NS, continuous infusion' },
  hydromorphone: { rx: ['3423', 'hydromorphone'], text: 'Hydromorphone 0.2 mg/mL PCA, continuous infusion with demand dose' },
  meperidine: { hcpcs: ['J2175', 'Injection, meperidine hydrochloride, per 100 mg'], text: 'Meperidine 10 mg/mL continuous infusion' },
  cytarabine: { rx: ['3041', 'cytarabine'], text: 'Cytarabine 100 mg/m2/day continuous infusion' },
  cytarabineJ: { hcpcs: ['J9100', 'Injection, cytarabine, 100 mg'], text: 'Cytarabine 100 mg/m2/day continuous infusion' },
  doxorubicinLipo: { codings: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '3639', display: 'doxorubicin' }, { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J9001', display: 'Injection, doxorubicin hydrochloride, all lipid formulations, 10 mg' }], text: 'Doxorubicin liposomal 50 mg/m2' },
  acyclovir: { rx: ['281', 'acyclovir'], text: 'Acyclovir 10 mg/kg IV every 8 hours, infuse over 1 hour' },
  milrinone: { hcpcs: ['J2260', 'Injection, milrinone lactate, 5 mg'], text: 'Milrinone 0.375 mcg/kg/min continuous infusion' },
  epoprostenol: { hcpcs: ['J1325', 'Injection, epoprostenol, 0.5 mg'], text: 'Epoprostenol 10 ng/kg/min continuous infusion' },
  treprostinil: { rx: ['343048', 'treprostinil'], text: 'Treprostinil (Remodulin) 20 ng/kg/min continuous subcutaneous infusion' },
  gallium: { hcpcs: ['J7799', 'NOC drugs, other than inhalation drugs, administered through DME'], text: 'Gallium nitrate (Ganite) 200 mg/m2/day continuous infusion' },
  ziconotide: { hcpcs: ['J2278', 'Injection, ziconotide, 1 microgram'], text: 'Ziconotide (Prialt) 2.4 mcg/day intrathecal continuous infusion' },
  hizentra: { hcpcs: ['J1559', 'Injection, immune globulin (Hizentra), 100 mg'], text: 'Hizentra 20% 10 g subcutaneous weekly' },
  hyqvia: { hcpcs: ['J1575', 'Injection, immune globulin/hyaluronidase (HyQvia), 100 mg immuneglobulin'], text: 'HyQvia 30 g subcutaneous every 4 weeks' },
  xembify: { hcpcs: ['J1558', 'Injection, immune globulin (Xembify), 100 mg'], text: 'Xembify 20% 10 g subcutaneous weekly' },
  duopa: { hcpcs: ['J7340', 'Carbidopa 5 mg/levodopa 20 mg enteral suspension, 100 ml'], text: 'Carbidopa/levodopa enteral suspension (Duopa) 16-hour infusion via PEG-J' },
  blinatumomab: { hcpcs: ['J9039', 'Injection, blinatumomab, 1 microgram'], text: 'Blinatumomab (Blincyto) 28 mcg/day continuous infusion' },
  heparin: { hcpcs: ['J1644', 'Injection, heparin sodium, per 1000 units'], text: 'Heparin 25,000 units in 250 mL, 1,000 units/h continuous infusion' },
  vancomycin: { hcpcs: ['J3370', 'Injection, vancomycin HCl, 500 mg'], text: 'Vancomycin 1 g IV every 12 hours' },
  insulin: { hcpcs: ['J1817', 'Insulin for administration through DME (i.e., insulin pump), per 50 units'], text: 'Insulin lispro U-100 via pump' },
};
const drug = (name, opts = {}) => drugOrder('mr-drug', DRUGS[name], opts);
const ironDx = () => cond('c-iron', 'E83.111', 'Hemochromatosis due to repeated red blood cell transfusions');
const exp = (outcome, criteria, card) => ({ [PUMP]: { outcome, ...(criteria ? { criteria } : {}), ...(card !== undefined ? { card } : {}) } });
const warn = (...s) => ({ indicator: 'warning', summaryIncludes: s });

// ---- medicare-external-general -------------------------------------------------------------------------------------
const G = 'medicare-external-general';
emit({ dir: G, name: 'mln-e0779-thromboembolic-no-drug', given: 'Morgan', title: 'MLN improper-payment example: E0779 ordered for a patient with a history of venous thrombosis and no drug ordered or on record — documentation missing: covered indication and drug (conditional)',
  exercises: 'MLN Infusion Pumps & Related Drugs, Example of Improper Payments; NCD 280.14 B.1 — the pump\'s drug and covered indication must be documented (COVERAGE-MAP G10)',
  record: () => [cond('c-vte', 'Z86.718', 'Personal history of other venous thrombosis and embolism')],
  orders: () => [devOrder('dr-pump', 'E0779')],
  expected: exp('conditional', { 'ext-covered-indication-and-drug': 'not-documented', 'ext-swo-order-date': 'met', 'ext-swo-practitioner': 'met' }, warn('covered indication and drug')) });
emit({ dir: G, name: 'drug-text-not-identified', given: 'Riley', title: 'E0781 with a companion drug order whose text names no known drug ("Continuous infusion per oncology protocol") — covered indication and drug not documented (conditional)',
  exercises: 'MLN Example of Improper Payments (COVERAGE-MAP G10); NCD 280.14 B.1: an unidentified drug is never covered by the general rules',
  record: () => [cond('c-ca', 'C50.911', 'Malignant neoplasm of unspecified site of right female breast')],
  orders: () => [pumpWith('E0781'), drugOrder('mr-drug', { text: 'Continuous infusion per oncology protocol — see pharmacy note' })],
  expected: exp('conditional', { 'ext-covered-indication-and-drug': 'not-documented' }, warn('covered indication and drug')) });
emit({ dir: G, name: 'meperidine-individual-consideration', given: 'Avery', title: 'Meperidine by E0779 for cancer pain — meperidine is excluded from situation B and on no other list: individual consideration by the DME MAC, never covered (conditional)',
  exercises: 'NCD 280.14 B.1.f (other uses: MAC medical staff verify); L33794 V(B) via digest (narcotics except meperidine)',
  record: () => [cond('c-ca', 'C25.9', 'Malignant neoplasm of pancreas, unspecified')],
  orders: () => [pumpWith('E0779'), drug('meperidine', { hours: 24 })],
  expected: exp('conditional', { 'ext-other-uses-individual-consideration': 'not-documented', 'ext-covered-indication-and-drug': 'met' }, warn('individual consideration by the DME MAC')) });
emit({ dir: G, name: 'order-without-date-or-practitioner', given: 'Jordan', title: 'Deferoxamine by E0779 for iron overload, but the pump order carries no order date and no ordering practitioner — written order incomplete (conditional)',
  exercises: 'MLN Documentation Requirements (standard written order); SWO elements order date and treating practitioner (A55426 via POLICY-DIGEST §1.9)',
  record: () => [ironDx()],
  orders: () => [pumpWith('E0779', { noAuthored: true, noRequester: true }), drug('deferoxamine', { hours: 10 })],
  expected: exp('conditional', { 'ext-swo-order-date': 'not-documented', 'ext-swo-practitioner': 'not-documented', 'ext-covered-indication-and-drug': 'met' }) });
for (const [days, outcome, label] of [[92, 'covered', 'at'], [93, 'not-covered', 'one day over']]) {
  emit({ dir: G, name: `drug-supply-${days}-days`, given: 'Quinn', title: `Deferoxamine by E0779 for iron overload with a ${days}-day supply to dispense — ${outcome}`,
    exercises: `L33794 via POLICY-DIGEST §1.1 G10: at most a 3-month quantity of drugs at a time, read as 92 days (parameter supplyDaysMax) — ${label} the limit`,
    record: () => [ironDx()],
    orders: () => [pumpWith('E0779'), drug('deferoxamine', { hours: 10, supplyDays: days })],
    expected: exp(outcome, { 'ext-drug-3-month-quantity': outcome === 'covered' ? 'met' : 'not-met', 'ext-covered-indication-and-drug': 'met', 'ext-other-uses-individual-consideration': 'met' }, outcome === 'covered' ? undefined : warn('3-month')) });
}

// ---- indication I: deferoxamine ------------------------------------------------------------------------------------
const I1 = 'medicare-ind1-deferoxamine';
emit({ dir: I1, name: 'iron-overload-covered', given: 'Dana', title: 'Deferoxamine by E0779 (10-hour subcutaneous infusions) for transfusional iron overload, at home — covered',
  exercises: 'NCD 280.14 B.1.a (deferoxamine for iron overload); L33794 I via digest (pumps E0779/E0780/E0781/E0791); NCD B.1 NOTE (drug with a covered pump)',
  record: () => [ironDx()],
  orders: () => [pumpWith('E0779'), drug('deferoxamine', { hours: 10, supplyDays: 30 })],
  expected: exp('covered', met(...GEN, 'ind1-iron-overload', 'ind1-pump-fits-drug'), null) });
emit({ dir: I1, name: 'acute-iron-poisoning-covered', given: 'Elliot', title: 'Deferoxamine by E0781 for acute iron poisoning (T45.4X1A) — covered (the NCD names acute iron poisoning; policy parameter acceptAcuteIronPoisoning)',
  exercises: 'NCD 280.14 B.1.a (acute iron poisoning) — parameter acceptAcuteIronPoisoning true',
  record: () => [cond('c-fe', 'T45.4X1A', 'Poisoning by iron and its compounds, accidental (unintentional), initial encounter', { onset: '2026-03-30' })],
  orders: () => [pumpWith('E0781'), drug('deferoxamine', { hours: 12 })],
  expected: exp('covered', met('ind1-iron-poisoning'), null) });
emit({ dir: I1, name: 'no-iron-diagnosis', given: 'Frankie', title: 'Deferoxamine by E0779 with no iron overload or iron poisoning documented — documentation needed (conditional)',
  exercises: 'NCD 280.14 B.1.a: the indication (iron overload / acute iron poisoning) must be documented',
  orders: () => [pumpWith('E0779'), drug('deferoxamine', { hours: 10 })],
  expected: exp('conditional', { 'ind1-iron-overload': 'not-documented', 'ind1-iron-poisoning': 'not-documented' }, warn('iron')) });
emit({ dir: I1, name: 'deferoxamine-on-k0455', given: 'Gale', title: 'Deferoxamine ordered on K0455 (the epoprostenol/treprostinil pump) — pump code does not fit the drug (not covered)',
  exercises: 'L33794 I via digest (E0779/E0780/E0781/E0791 for indications I–III); A52507 K0455 only for epoprostenol/treprostinil — several right codes, so no change-code suggestion',
  record: () => [ironDx()],
  orders: () => [pumpWith('K0455'), drug('deferoxamine', { hours: 10 })],
  expected: exp('not-covered', { 'ind1-pump-fits-drug': 'not-met' }, warn('K0455')) });
emit({ dir: I1, name: 'drug-alone-no-pump', given: 'Harper', title: 'Deferoxamine ordered alone, no pump ordered and none on record — a drug is payable only with a covered pump (not covered)',
  exercises: 'NCD 280.14 B.1 NOTE; A52507 via digest (drugs billed without a covered pump are denied)',
  record: () => [ironDx()],
  orders: () => [drugOrder('mr-drug', DRUGS.deferoxamine, { hours: 10 })],
  expected: { [MR]: { outcome: 'not-covered', criteria: { 'ext-pump-in-order-set': 'not-met', 'ext-pump-on-record': 'not-met' } } } });
emit({ dir: I1, name: 'drug-refill-pump-on-record', given: 'Indy', title: 'Deferoxamine refill ordered alone for a patient whose E0779 pump is on record — covered',
  exercises: 'NCD 280.14 B.1 NOTE (drug of a covered pump): the pump on record (active Device E0779) counts',
  record: () => [ironDx(), device('dev-pump', 'E0779', 'Ambulatory infusion pump (patient-owned)')],
  orders: () => [drugOrder('mr-drug', DRUGS.deferoxamine, { hours: 10, supplyDays: 30 })],
  expected: { [MR]: { outcome: 'covered', criteria: met('ext-pump-on-record', 'ind1-iron-overload') } } });
emit({ dir: I1, name: 'inpatient-not-home', given: 'Jules', title: 'Deferoxamine by E0779 ordered during an inpatient stay (Encounter class IMP) — the DME benefit is for the home (not covered)',
  exercises: 'NCD 280.14 B.1 (external pumps in the home); UHC MCS051.01 Part B vs Part D ¶3 (a hospital is not the home) — COVERAGE-MAP G3',
  record: () => [ironDx(), encounter('enc-inpt', 'IMP', 'inpatient encounter')],
  orders: () => [pumpWith('E0779', { encounter: 'enc-inpt' }), drug('deferoxamine', { hours: 10 })],
  expected: exp('not-covered', { 'ext-home-setting': 'not-met' }, warn('institutional setting — covered only for use in the home')) });

// ---- indication II ---------------------------------------------------------------------------------------------------
const I2 = 'medicare-ind2-liver-colorectal-chemo';
emit({ dir: I2, name: 'colorectal-unresectable-covered', given: 'Kai', title: 'Fluorouracil (J9190) by E0779 for unresectable colorectal cancer — covered under indication II (situation A not required)',
  exercises: 'NCD 280.14 B.1.c; L33794 II via digest (anticancer drugs for these cancers need not meet V(A))',
  record: () => [cond('c-crc', 'C18.7', 'Malignant neoplasm of sigmoid colon'), qr('qr-1', { 'chemo-unresectable-or-refused': true })],
  orders: () => [pumpWith('E0779'), drug('fluorouracil', { hours: 46, every: 336 })],
  expected: exp('covered', met(...GEN, 'ind2-hcc-or-colorectal', 'ind2-unresectable-or-refused', 'ind2-pump-fits-drug'), null) });
emit({ dir: I2, name: 'hcc-oxaliplatin-surgery-refused-covered', given: 'Lee', title: 'Oxaliplatin (J9263, any chemotherapy) by E0781 for primary hepatocellular carcinoma, surgery refused — covered',
  exercises: 'NCD 280.14 B.1.c (primary HCC; unresectable or the patient refuses surgical excision); a J-code not in the drug map still identifies the drug',
  record: () => [cond('c-hcc', 'C22.0', 'Liver cell carcinoma'), qr('qr-1', { 'chemo-unresectable-or-refused': true })],
  orders: () => [pumpWith('E0781'), drug('oxaliplatin', { hours: 2, every: 336 })],
  expected: exp('covered', met('ind2-hcc-or-colorectal'), null) });
emit({ dir: I2, name: 'resectable-not-refused', given: 'Max', title: 'Fluorouracil by E0779 for colorectal cancer that is resectable, surgery not refused (attested no) — not covered',
  exercises: 'NCD 280.14 B.1.c: unresectable, or the patient refuses surgery',
  record: () => [cond('c-crc', 'C20', 'Malignant neoplasm of rectum'), qr('qr-1', { 'chemo-unresectable-or-refused': false })],
  orders: () => [pumpWith('E0779'), drug('fluorouracil', { hours: 46, every: 336 })],
  expected: exp('not-covered', { 'ind2-unresectable-or-refused': 'not-met' }) });
emit({ dir: I2, name: 'unresectable-not-documented', given: 'Noor', title: 'Fluorouracil by E0779 for colorectal cancer, resectability not documented — documentation needed (conditional)',
  exercises: 'NCD 280.14 B.1.c: unresectable or surgery refused must be documented (attestation)',
  record: () => [cond('c-crc', 'C18.2', 'Malignant neoplasm of ascending colon')],
  orders: () => [pumpWith('E0779'), drug('fluorouracil', { hours: 46, every: 336 })],
  expected: exp('conditional', { 'ind2-unresectable-or-refused': 'not-documented' }, warn('unresectable')) });
emit({ dir: I2, name: 'oxaliplatin-breast-cancer', given: 'Oakley', title: 'Oxaliplatin by E0781 for breast cancer — not a situation A drug, and no liver or colorectal cancer documented (conditional)',
  exercises: 'NCD 280.14 B.1.c (indication II only for primary HCC / colorectal cancer); L33794 V(A) via digest (listed drugs only)',
  record: () => [cond('c-ca', 'C50.412', 'Malignant neoplasm of upper-outer quadrant of left female breast'), qr('qr-1', { 'chemo-unresectable-or-refused': true })],
  orders: () => [pumpWith('E0781'), drug('oxaliplatin', { hours: 2, every: 336 })],
  expected: exp('conditional', { 'ind2-hcc-or-colorectal': 'not-documented' }, warn('liver or colorectal cancer not documented')) });

// ---- indication III ----------------------------------------------------------------------------------------------------
const I3 = 'medicare-ind3-morphine-cancer-pain';
emit({ dir: I3, name: 'morphine-cancer-pain-covered', given: 'Parker', title: 'Morphine by E0779 for intractable cancer pain (lung cancer, G89.3) — covered under indication III (situation B criteria not applied)',
  exercises: 'NCD 280.14 B.1.d (morphine for intractable cancer pain); L33794 III via digest; V(B) is for narcotics in place of morphine',
  record: () => [cond('c-ca', 'C34.90', 'Malignant neoplasm of unspecified part of unspecified bronchus or lung'), cond('c-pain', 'G89.3', 'Neoplasm related pain (acute) (chronic)')],
  orders: () => [pumpWith('E0779'), drug('morphine', { hours: 24 })],
  expected: exp('covered', met(...GEN, 'ind3-malignancy', 'ind3-cancer-pain-dx', 'ind3-pump-fits-drug'), null) });
emit({ dir: I3, name: 'morphine-text-only-no-cancer', given: 'Reese', title: 'E0779 with a companion drug order written only as text "Morphine sulfate 1 mg/mL in NS, continuous infusion", no cancer diagnosis — judged under indication III, cancer not documented (conditional on the pump and on the drug line, never covered by the general rules alone)',
  exercises: 'NCD 280.14 B.1.d; the drug identified by name selects the indication III policy (issue 9 item 2)',
  orders: () => [pumpWith('E0779'), drug('morphineText', { hours: 24 })],
  expected: { ...exp('conditional', { 'ind3-malignancy': 'not-documented', 'ext-pump-in-order-set': 'met' }, warn('cancer')), [MR]: { outcome: 'conditional' } } });
emit({ dir: I3, name: 'cancer-pain-attested-no', given: 'Sage', title: 'Morphine by E0779 for a patient with prostate cancer whose pain is attested not to be intractable cancer pain — not covered',
  exercises: 'NCD 280.14 B.1.d (intractable pain caused by cancer): structured diagnosis first, the attestation decides when there is none',
  record: () => [cond('c-ca', 'C61', 'Malignant neoplasm of prostate'), qr('qr-1', { 'pain-intractable-cancer': false })],
  orders: () => [pumpWith('E0779'), drug('morphine', { hours: 24 })],
  expected: exp('not-covered', { 'ind3-cancer-pain-attested': 'not-met', 'ind3-malignancy': 'met' }) });
emit({ dir: I3, name: 'cancer-pain-attested-yes', given: 'Tatum', title: 'Morphine by E0781 for pancreatic cancer with intractable cancer pain attested (no G89.3 on the problem list) — covered',
  exercises: 'NCD 280.14 B.1.d: intractable cancer pain by attestation when no diagnosis code is recorded',
  record: () => [cond('c-ca', 'C25.0', 'Malignant neoplasm of head of pancreas'), qr('qr-1', { 'pain-intractable-cancer': true })],
  orders: () => [pumpWith('E0781'), drug('morphine', { hours: 24 })],
  expected: exp('covered', met('ind3-cancer-pain-attested'), null) });
emit({ dir: I3, name: 'cancer-pain-not-documented', given: 'Uma', title: 'Morphine by E0779 for lung cancer, intractable cancer pain neither coded nor attested — documentation needed (conditional)',
  exercises: 'NCD 280.14 B.1.d: intractable pain caused by cancer must be documented',
  record: () => [cond('c-ca', 'C34.11', 'Malignant neoplasm of upper lobe, right bronchus or lung')],
  orders: () => [pumpWith('E0779'), drug('morphine', { hours: 24 })],
  expected: exp('conditional', { 'ind3-cancer-pain-dx': 'not-documented', 'ind3-cancer-pain-attested': 'not-documented' }) });
emit({ dir: I3, name: 'morphine-on-k0455', given: 'Vic', title: 'Morphine for cancer pain ordered on K0455 — pump code does not fit the drug (not covered)',
  exercises: 'L33794 III via digest (E0779/E0780/E0781/E0791); K0455 only for epoprostenol/treprostinil (A52507 via digest)',
  record: () => [cond('c-ca', 'C34.90', 'Malignant neoplasm of unspecified part of unspecified bronchus or lung'), cond('c-pain', 'G89.3', 'Neoplasm related pain (acute) (chronic)')],
  orders: () => [pumpWith('K0455'), drug('morphine', { hours: 24 })],
  expected: exp('not-covered', { 'ind3-pump-fits-drug': 'not-met' }) });

// ---- indication V: a generic set of cases per situation --------------------------------------------------------------
const SET_LEAVES_MET = met('v-home-parenteral-reasonable', 'v-pump-needed-for-safety', 'v-set1-duration-order', 'v-set1-advantage');
/** (b) intermittent infusions: set 1 answered no, set 2 not answered. */
function set2Unanswered(dir, spec) {
  emit({ dir, name: 'criteria-set-2-not-documented', given: 'Wren', title: `${spec.what}: infusions attested under 8 hours (criteria set 1 answered no) and criteria set 2 not answered — ${spec.set2Outcome ?? 'conditional'}`,
    exercises: 'L33794 V criteria sets 1 and 2 via digest (NW Criteria sets 1 and 2): set 2 needs intermittent < 8-hour infusions without an office visit before each and toxicity unavoidable without a controlled rate',
    record: () => [...spec.record(), qr('qr-1', { ...spec.answers, 'v-home-parenteral': true, 'v-pump-necessary': true, 'v-infusion-8h-or-more': false, 'v-prolonged-advantage': true })],
    orders: () => [pumpWith(spec.pump), drug(spec.drug, {})],
    expected: exp(spec.set2Outcome ?? 'conditional', { 'v-set1-duration-attested': 'not-met', 'v-set2-duration-attested': 'met', 'v-set2-no-office-return': 'not-documented', 'v-set2-controlled-rate-toxicity': 'not-documented', ...spec.set2Extra }) });
  emit({ dir, name: 'two-hour-infusions-set-2-not-documented', given: 'Wynn', title: `${spec.what}: the drug order gives 2-hour infusions every 12 hours (criteria set 1 not met) and criteria set 2 is not answered — ${spec.set2Outcome ?? 'conditional'}`,
    exercises: 'L33794 V criteria sets 1 and 2 via digest: infusion length read from the drug order (dosageInstruction.timing.repeat.duration, h); parameters set1MinInfusionHours (≥ 8) and set2MaxEpisodeHours (< 8)',
    record: () => [...spec.record(), qr('qr-1', { ...spec.answers, 'v-home-parenteral': true, 'v-pump-necessary': true, 'v-prolonged-advantage': true })],
    orders: () => [pumpWith(spec.pump), drug(spec.drug, { hours: 2, every: 12 })],
    expected: exp(spec.set2Outcome ?? 'conditional', { 'v-set1-duration-order': 'not-met', 'v-set2-duration-order': 'met', 'v-set2-no-office-return': 'not-documented', 'v-set2-controlled-rate-toxicity': 'not-documented', ...(spec.set2OrderExtra ?? {}) }) });
}

// V(A)
const VA = 'medicare-v-a-anticancer-continuous';
const aml = () => cond('c-aml', 'C92.00', 'Acute myeloblastic leukemia, not having achieved remission');
emit({ dir: VA, name: 'cytarabine-24h-covered', given: 'Ash', title: 'Cytarabine by continuous 24-hour infusion on E0781 for acute myeloid leukemia, criteria set 1 documented — covered',
  exercises: 'L33794 V(A) via digest (listed anticancer drug by continuous infusion ≥ 8 h, NW 003 A); L33794 V criteria set 1',
  record: () => [aml(), qr('qr-1', SET1)],
  orders: () => [pumpWith('E0781'), drug('cytarabine', { hours: 24 })],
  expected: exp('covered', { ...met(...GEN, 'vA-listed-anticancer-drug', 'vA-duration-order', 'vA-pump-fits-drug'), ...SET_LEAVES_MET }, null) });
emit({ dir: VA, name: 'infusion-exactly-8-hours', given: 'Bay', title: 'Cytarabine (J9100) by E0781 for acute myeloid leukemia, each infusion 8 hours — covered (at the threshold; indication II not applicable without liver or colorectal cancer)',
  exercises: 'L33794 V(A) and criteria set 1 via digest: infusion of at least 8 hours (parameter set1MinInfusionHours, ≥) — exactly 8',
  record: () => [aml(), qr('qr-1', SET1)],
  orders: () => [pumpWith('E0781'), drug('cytarabineJ', { hours: 8 })],
  expected: exp('covered', met('vA-duration-order', 'v-set1-duration-order'), null) });
emit({ dir: VA, name: 'infusion-7-hours', given: 'Cam', title: 'Cytarabine by E0781 for acute myeloid leukemia, each infusion 7 hours — not a continuous infusion of at least 8 hours (not covered)',
  exercises: 'L33794 V(A) via digest: continuous infusion ≥ 8 h — 7 hours, one under',
  record: () => [aml(), qr('qr-1', SET1)],
  orders: () => [pumpWith('E0781'), drug('cytarabine', { hours: 7 })],
  expected: exp('not-covered', { 'vA-duration-order': 'not-met' }, warn('≥ 8 h')) });
emit({ dir: VA, name: 'duration-attested-covered', given: 'Dale', title: 'Cytarabine by E0779, infusion duration not on the order but attested as at least 8 hours — covered',
  exercises: 'L33794 V(A) via digest: the 8-hour infusion from the attestation when the order does not state it',
  record: () => [aml(), qr('qr-1', SET1)],
  orders: () => [pumpWith('E0779'), drug('cytarabine', {})],
  expected: exp('covered', met('vA-duration-attested', 'v-set1-duration-attested'), null) });
emit({ dir: VA, name: 'liposomal-doxorubicin', given: 'Eden', title: 'Liposomal doxorubicin (J9001) by E0781 — liposomal preparations are not situation A drugs (not covered, remove suggested)',
  exercises: 'L33794 V(A) via digest; NW 003 A: doxorubicin (non-liposomal) only',
  record: () => [cond('c-ov', 'C56.9', 'Malignant neoplasm of unspecified ovary'), qr('qr-1', SET1)],
  orders: () => [pumpWith('E0781'), drugOrder('mr-drug', DRUGS.doxorubicinLipo, { hours: 24 })],
  expected: exp('not-covered', { 'vA-listed-anticancer-drug': 'not-met' }) });
emit({ dir: VA, name: 'cytarabine-on-k0455', given: 'Fern', title: 'Cytarabine ordered on K0455 — pump code does not fit the drug (not covered)',
  exercises: 'L33794 V(A) via digest (E0779/E0780/E0781/E0791); K0455 only for epoprostenol/treprostinil',
  record: () => [aml(), qr('qr-1', SET1)],
  orders: () => [pumpWith('K0455'), drug('cytarabine', { hours: 24 })],
  expected: exp('not-covered', { 'vA-pump-fits-drug': 'not-met' }) });
set2Unanswered(VA, { what: 'Cytarabine by E0781 for acute myeloid leukemia', pump: 'E0781', drug: 'cytarabine', record: () => [aml()], answers: {}, set2Outcome: 'not-covered', set2Extra: { 'vA-duration-attested': 'not-met' }, set2OrderExtra: { 'vA-duration-order': 'not-met' } });

// V(B)
const VB = 'medicare-v-b-narcotic-cancer-pain';
const lungCa = () => cond('c-ca', 'C34.90', 'Malignant neoplasm of unspecified part of unspecified bronchus or lung');
emit({ dir: VB, name: 'hydromorphone-covered', given: 'Gray', title: 'Hydromorphone PCA by E0781 for intractable lung-cancer pain after oral opioids failed, criteria set 1 documented — covered',
  exercises: 'L33794 V(B) via digest (narcotic analgesics except meperidine, in place of morphine; NW 003 B); criteria set 1',
  record: () => [lungCa(), qr('qr-1', { ...SET1, 'vB-oral-regimen-failed': true })],
  orders: () => [pumpWith('E0781'), drug('hydromorphone', { hours: 24 })],
  expected: exp('covered', { ...met(...GEN, 'vB-narcotic-not-meperidine', 'vB-malignancy', 'vB-intractable-cancer-pain-failed-regimen', 'vB-pump-fits-drug'), ...SET_LEAVES_MET }, null) });
emit({ dir: VB, name: 'oral-regimen-not-failed', given: 'Hollis', title: 'Hydromorphone by E0781 for lung-cancer pain, failure of an oral/transdermal regimen answered no — not covered',
  exercises: 'L33794 V(B) via digest: pain not responding to, or intolerance of, an adequate oral/transdermal regimen',
  record: () => [lungCa(), qr('qr-1', { ...SET1, 'vB-oral-regimen-failed': false })],
  orders: () => [pumpWith('E0781'), drug('hydromorphone', { hours: 24 })],
  expected: exp('not-covered', { 'vB-intractable-cancer-pain-failed-regimen': 'not-met' }) });
emit({ dir: VB, name: 'no-cancer-diagnosis', given: 'Ira', title: 'Hydromorphone by E0781 for pain with no cancer diagnosis documented — documentation needed (conditional)',
  exercises: 'L33794 V(B) via digest: intractable pain caused by cancer',
  record: () => [qr('qr-1', { ...SET1, 'vB-oral-regimen-failed': true })],
  orders: () => [pumpWith('E0781'), drug('hydromorphone', { hours: 24 })],
  expected: exp('conditional', { 'vB-malignancy': 'not-documented' }, warn('cancer diagnosis')) });
set2Unanswered(VB, { what: 'Hydromorphone by E0781 for lung-cancer pain', pump: 'E0781', drug: 'hydromorphone', record: () => [lungCa()], answers: { 'vB-oral-regimen-failed': true } });

// V(C)
const VC = 'medicare-v-c-antiviral-antifungal';
const hsv = () => cond('c-hsv', 'B00.4', 'Herpesviral encephalitis');
emit({ dir: VC, name: 'acyclovir-intermittent-covered', given: 'Jo', title: 'Acyclovir 1-hour infusions every 8 hours by E0781 for herpes encephalitis, criteria set 2 documented — covered',
  exercises: 'L33794 V(C) via digest (acyclovir, foscarnet, amphotericin B, ganciclovir; NW 003 C); criteria set 2 (each episode < 8 h, parameter set2MaxEpisodeHours)',
  record: () => [hsv(), qr('qr-1', SET2)],
  orders: () => [pumpWith('E0781'), drug('acyclovir', { hours: 1, every: 8 })],
  expected: exp('covered', met(...GEN, 'vC-listed-anti-infective', 'vC-pump-fits-drug', 'v-home-parenteral-reasonable', 'v-pump-needed-for-safety', 'v-set2-duration-order', 'v-set2-no-office-return', 'v-set2-controlled-rate-toxicity'), null) });
emit({ dir: VC, name: 'acyclovir-attested-covered', given: 'Kit', title: 'Acyclovir by E0781, infusion length not on the order, attested under 8 hours with criteria set 2 documented — covered',
  exercises: 'L33794 V criteria set 2 via digest: the < 8-hour episode from the attestation (8-hour question answered no)',
  record: () => [hsv(), qr('qr-1', SET2)],
  orders: () => [pumpWith('E0781'), drug('acyclovir', {})],
  expected: exp('covered', met('v-set2-duration-attested', 'v-set1-duration-attested', 'v-set1-advantage'), null) });
emit({ dir: VC, name: 'controlled-rate-not-needed', given: 'Lux', title: 'Acyclovir 1-hour infusions by E0781, toxicity without a controlled rate answered no — neither criteria set met (not covered)',
  exercises: 'L33794 V criteria set 2 via digest, bullet 4 (toxicity unavoidable without a strictly controlled rate); set 1 fails on the 1-hour order',
  record: () => [hsv(), qr('qr-1', { ...SET2, 'v-controlled-rate-toxicity': false })],
  orders: () => [pumpWith('E0781'), drug('acyclovir', { hours: 1, every: 8 })],
  expected: exp('not-covered', { 'v-set2-controlled-rate-toxicity': 'not-met', 'v-set1-duration-order': 'not-met' }) });
emit({ dir: VC, name: 'home-parenteral-not-reasonable', given: 'Mo', title: 'Acyclovir by E0781, home parenteral administration answered not reasonable and necessary — not covered',
  exercises: 'L33794 V criteria sets 1 and 2 via digest, bullet 1',
  record: () => [hsv(), qr('qr-1', { ...SET2, 'v-home-parenteral': false })],
  orders: () => [pumpWith('E0781'), drug('acyclovir', { hours: 1, every: 8 })],
  expected: exp('not-covered', { 'v-home-parenteral-reasonable': 'not-met' }) });
set2Unanswered(VC, { what: 'Acyclovir by E0781', pump: 'E0781', drug: 'acyclovir', record: () => [hsv()], answers: {} });

// V(D)
const VD = 'medicare-v-d-inotropes';
const stageD = () => cond('c-hf', 'I50.84', 'End stage heart failure');
const VD_ALL = { ...SET1, 'vD-gdmt': true, 'vD-bridge-or-palliative': true, 'vD-cardiologist-evaluation': true, 'vD-improvement-at-discharge': true };
emit({ dir: VD, name: 'milrinone-covered', given: 'Nico', title: 'Milrinone continuous infusion by E0781 for end-stage heart failure, all situation D conditions documented — covered',
  exercises: 'L33794 V(D) via digest (inotropes for Stage D / NYHA IV HF: GDMT, bridge or palliative, advanced-HF cardiologist, improvement at discharge; NW 003 D 1–4); criteria set 1',
  record: () => [stageD(), qr('qr-1', VD_ALL)],
  orders: () => [pumpWith('E0781'), drug('milrinone', { hours: 24 })],
  expected: exp('covered', { ...met(...GEN, 'vD-stage-d-dx', 'vD-symptomatic-despite-gdmt', 'vD-bridge-or-palliative', 'vD-advanced-hf-cardiologist-evaluation', 'vD-improvement-at-discharge', 'vD-pump-fits-drug'), ...SET_LEAVES_MET }, null) });
emit({ dir: VD, name: 'nyha-iv-attested-covered', given: 'Oli', title: 'Milrinone by E0781 for heart failure coded I50.22 with NYHA class IV attested — covered',
  exercises: 'L33794 V(D) via digest: Stage D or NYHA IV from the attestation when no I50.84 is coded',
  record: () => [cond('c-hf', 'I50.22', 'Chronic systolic (congestive) heart failure'), qr('qr-1', { ...VD_ALL, 'vD-stage-d-or-nyha-iv': true })],
  orders: () => [pumpWith('E0781'), drug('milrinone', { hours: 24 })],
  expected: exp('covered', met('vD-stage-d-attested'), null) });
emit({ dir: VD, name: 'gdmt-not-documented', given: 'Pax', title: 'Milrinone by E0781 for end-stage heart failure, symptoms despite guideline-directed therapy not documented — documentation needed (conditional)',
  exercises: 'L33794 V(D) via digest, condition 1 (symptomatic despite optimal GDMT)',
  record: () => [stageD(), qr('qr-1', { ...SET1, 'vD-bridge-or-palliative': true, 'vD-cardiologist-evaluation': true, 'vD-improvement-at-discharge': true })],
  orders: () => [pumpWith('E0781'), drug('milrinone', { hours: 24 })],
  expected: exp('conditional', { 'vD-symptomatic-despite-gdmt': 'not-documented' }, warn('GDMT')) });
emit({ dir: VD, name: 'no-improvement-at-discharge', given: 'Ren', title: 'Milrinone by E0781, no improvement of heart-failure symptoms on the inotrope at discharge — not covered',
  exercises: 'L33794 V(D) via digest, condition 4 (documented improvement at discharge)',
  record: () => [stageD(), qr('qr-1', { ...VD_ALL, 'vD-improvement-at-discharge': false })],
  orders: () => [pumpWith('E0781'), drug('milrinone', { hours: 24 })],
  expected: exp('not-covered', { 'vD-improvement-at-discharge': 'not-met' }) });
set2Unanswered(VD, { what: 'Milrinone by E0781 for end-stage heart failure', pump: 'E0781', drug: 'milrinone', record: () => [stageD()], answers: { 'vD-gdmt': true, 'vD-bridge-or-palliative': true, 'vD-cardiologist-evaluation': true, 'vD-improvement-at-discharge': true } });

// V(E)
const VE = 'medicare-v-e-pah-prostacyclin';
const pah = () => cond('c-pah', 'I27.0', 'Primary pulmonary hypertension');
const mpap = (id, v, ex) => obs(id, '8414-5', 'Pulmonary artery Mean blood pressure', v, 'mmHg', 'mm[Hg]', '2026-02-10T10:00:00Z', { category: 'procedure', ...(ex ? { method: 'Right heart catheterization with exercise' } : { method: 'Right heart catheterization at rest' }) });
const VE_ALL = { ...SET1, 'vE-symptoms': true, 'vE-ccb': true };
const epo = (pump = 'K0455', drugName = 'epoprostenol') => [pumpWith(pump), drug(drugName, { hours: 24 })];
emit({ dir: VE, name: 'epoprostenol-k0455-covered', given: 'Sol', title: 'Epoprostenol on K0455 for primary pulmonary hypertension, mean PA pressure 42 mm Hg at rest — covered',
  exercises: 'L33794 V(E) via digest (NW 003 E 1–2; mean PA pressure > 25 mm Hg at rest, parameter mpapRestMin); K0455 only; criteria set 1',
  record: () => [pah(), mpap('o-mpap', 42), qr('qr-1', VE_ALL)],
  orders: () => epo(),
  expected: exp('covered', { ...met(...GEN, 'vE-not-pvh-or-respiratory', 'vE-qualifying-ph', 'vE-mpap-rest', 'vE-significant-symptoms', 'vE-ccb-tried-or-ruled-out', 'vE-pump-k0455-only', 'vE-one-k0455-no-backup'), ...SET_LEAVES_MET }, null) });
emit({ dir: VE, name: 'mpap-rest-26', given: 'Tam', title: 'Treprostinil (Remodulin) on K0455, mean PA pressure 26 mm Hg at rest — covered (one above the threshold)',
  exercises: 'L33794 V(E) via digest: mean PA pressure > 25 mm Hg at rest (strict) — 26',
  record: () => [pah(), mpap('o-mpap', 26), qr('qr-1', VE_ALL)],
  orders: () => epo('K0455', 'treprostinil'),
  expected: exp('covered', met('vE-mpap-rest'), null) });
emit({ dir: VE, name: 'mpap-rest-25', given: 'Uli', title: 'Epoprostenol on K0455, mean PA pressure 25 mm Hg at rest and no exercise study — not covered (25 is not above 25)',
  exercises: 'L33794 V(E) via digest: mean PA pressure > 25 mm Hg at rest (strict) — exactly 25',
  record: () => [pah(), mpap('o-mpap', 25), qr('qr-1', VE_ALL)],
  orders: () => epo(),
  expected: exp('not-covered', { 'vE-mpap-rest': 'not-met', 'vE-mpap-exertion': 'not-met' }, warn('25')) });
emit({ dir: VE, name: 'mpap-exertion-31', given: 'Val', title: 'Epoprostenol on K0455, mean PA pressure 22 mm Hg at rest and 31 mm Hg with exercise — covered',
  exercises: 'L33794 V(E) via digest: > 30 mm Hg with exertion (parameter mpapExertionMin, strict) — 31',
  record: () => [pah(), mpap('o-mpap', 22), mpap('o-mpap-ex', 31, true), qr('qr-1', VE_ALL)],
  orders: () => epo(),
  expected: exp('covered', met('vE-mpap-exertion'), null) });
emit({ dir: VE, name: 'mpap-exertion-30', given: 'Wes', title: 'Epoprostenol on K0455, mean PA pressure 22 mm Hg at rest and 30 mm Hg with exercise — not covered (30 is not above 30)',
  exercises: 'L33794 V(E) via digest: > 30 mm Hg with exertion (strict) — exactly 30',
  record: () => [pah(), mpap('o-mpap', 22), mpap('o-mpap-ex', 30, true), qr('qr-1', VE_ALL)],
  orders: () => epo(),
  expected: exp('not-covered', { 'vE-mpap-rest': 'not-met', 'vE-mpap-exertion': 'not-met' }) });
emit({ dir: VE, name: 'mpap-not-documented', given: 'Xan', title: 'Epoprostenol on K0455 for primary pulmonary hypertension, no mean PA pressure on record — documentation needed (conditional), right-heart catheterization suggested',
  exercises: 'L33794 V(E) via digest: the pulmonary artery pressure (date and result) must be documented',
  record: () => [pah(), qr('qr-1', VE_ALL)],
  orders: () => epo(),
  expected: exp('conditional', { 'vE-mpap-rest': 'not-documented' }, warn('mean pulmonary artery pressure')) });
emit({ dir: VE, name: 'ph-due-to-lung-disease', given: 'Yael', title: 'Epoprostenol on K0455 for pulmonary hypertension due to COPD (I27.23) — PH secondary to a respiratory disorder is excluded (not covered)',
  exercises: 'L33794 V(E) via digest (NW 003 E 1): PH not secondary to pulmonary venous hypertension or respiratory disorders',
  record: () => [cond('c-ph', 'I27.23', 'Pulmonary hypertension due to lung diseases and/or hypoxia'), cond('c-pah', 'I27.20', 'Pulmonary hypertension, unspecified'), mpap('o-mpap', 38), qr('qr-1', VE_ALL)],
  orders: () => epo(),
  expected: exp('not-covered', { 'vE-not-pvh-or-respiratory': 'not-met' }) });
emit({ dir: VE, name: 'epoprostenol-on-e0781', given: 'Zed', title: 'Epoprostenol ordered on E0781 — only K0455 is covered for epoprostenol/treprostinil (not covered, change the code to K0455)',
  exercises: 'L33794 V(E) via digest (NW 003 E(e)): pumps other than K0455 denied; A52507 via digest — the source names the right code, so a change-code suggestion',
  record: () => [pah(), mpap('o-mpap', 42), qr('qr-1', VE_ALL)],
  orders: () => epo('E0781'),
  expected: exp('not-covered', { 'vE-pump-k0455-only': 'not-met' }, warn('K0455')) });
emit({ dir: VE, name: 'second-k0455-backup', given: 'Abe', title: 'Two K0455 pumps ordered for epoprostenol (one as a backup) — a backup pump is not separately payable (not covered)',
  exercises: 'A52507 via POLICY-DIGEST §1.1 G9: only one K0455; a backup pump is denied',
  record: () => [pah(), mpap('o-mpap', 42), qr('qr-1', VE_ALL)],
  orders: () => [pumpWith('K0455'), devOrder('dr-pump-2', 'K0455', { text: 'Backup pump' }), drug('epoprostenol', { hours: 24 })],
  expected: exp('not-covered', { 'vE-one-k0455-no-backup': 'not-met' }) });
emit({ dir: VE, name: 'symptoms-answered-no', given: 'Bo', title: 'Epoprostenol on K0455, significant PH symptoms answered no — not covered',
  exercises: 'L33794 V(E) via digest (NW 003 E 2(c)): significant symptoms',
  record: () => [pah(), mpap('o-mpap', 42), qr('qr-1', { ...VE_ALL, 'vE-symptoms': false })],
  orders: () => epo(),
  expected: exp('not-covered', { 'vE-significant-symptoms': 'not-met' }) });
emit({ dir: VE, name: 'ccb-not-documented', given: 'Cy', title: 'Epoprostenol on K0455, calcium-channel-blocker trial not documented — documentation needed (conditional)',
  exercises: 'L33794 V(E) via digest (NW 003 E 2(d)): oral calcium channel blockers tried and failed, or considered and ruled out',
  record: () => [pah(), mpap('o-mpap', 42), qr('qr-1', { ...SET1, 'vE-symptoms': true })],
  orders: () => epo(),
  expected: exp('conditional', { 'vE-ccb-tried-or-ruled-out': 'not-documented' }, warn('calcium channel blocker')) });
emit({ dir: VE, name: 'no-qualifying-ph-diagnosis', given: 'Del', title: 'Epoprostenol on K0455 with no pulmonary hypertension diagnosis on record — documentation needed (conditional)',
  exercises: 'L33794 V(E) via digest (NW 003 E 2): primary PH or PH secondary to the listed conditions',
  record: () => [mpap('o-mpap', 42), qr('qr-1', VE_ALL)],
  orders: () => epo(),
  expected: exp('conditional', { 'vE-qualifying-ph': 'not-documented' }) });
set2Unanswered(VE, { what: 'Epoprostenol on K0455', pump: 'K0455', drug: 'epoprostenol', record: () => [pah(), mpap('o-mpap', 42)], answers: { 'vE-symptoms': true, 'vE-ccb': true } });

// V(F)
const VF = 'medicare-v-f-gallium-nitrate';
const caCorr = (v) => obs('o-ca', '29265-6', 'Calcium.albumin corrected [Mass/volume] in Serum or Plasma', v, 'mg/dL', 'mg/dL', '2026-03-31T07:00:00Z');
const hyperCa = () => [lungCa(), cond('c-hca', 'E83.52', 'Hypercalcemia', { onset: '2026-03-30' })];
const gallium = (days = 5) => [pumpWith('E0781'), drug('gallium', { hours: 24, supplyDays: days })];
emit({ dir: VF, name: 'corrected-calcium-12-covered', given: 'Em', title: 'Gallium nitrate (billed J7799, named in the order text) by E0781 for 5 days, lung cancer, corrected calcium 12.0 mg/dL — covered',
  exercises: 'L33794 V(F) via digest (NW 003 F): corrected calcium ≥ 12 mg/dL (parameter galliumCorrectedCaMin; the digest marks the operator uncertain, read as ≥) — exactly 12; at most 5 days (galliumMaxDays)',
  record: () => [...hyperCa(), caCorr(12.0), qr('qr-1', SET1)],
  orders: () => gallium(5),
  expected: exp('covered', { ...met(...GEN, 'vF-malignancy', 'vF-corrected-calcium', 'vF-gallium-max-5-days', 'vF-pump-fits-drug'), ...SET_LEAVES_MET }, null) });
emit({ dir: VF, name: 'corrected-calcium-11-9-not-symptomatic-documented', given: 'Fin', title: 'Gallium nitrate by E0781, corrected calcium 11.9 mg/dL and symptoms not documented — documentation needed (conditional; below 12 a patient is not expected to be symptomatic)',
  exercises: 'L33794 V(F) via digest: corrected calcium < 12 mg/dL — one step under; never not covered on calcium alone (parameter note)',
  record: () => [...hyperCa(), caCorr(11.9), qr('qr-1', SET1)],
  orders: () => gallium(5),
  expected: exp('conditional', { 'vF-corrected-calcium': 'not-met', 'vF-symptomatic': 'not-documented' }) });
emit({ dir: VF, name: 'corrected-calcium-11-9-symptomatic', given: 'Gus', title: 'Gallium nitrate by E0781, corrected calcium 11.9 mg/dL with symptomatic hypercalcemia attested — covered',
  exercises: 'L33794 V(F) via digest: symptomatic cancer-related hypercalcemia attested below the 12 mg/dL guidance',
  record: () => [...hyperCa(), caCorr(11.9), qr('qr-1', { ...SET1, 'vF-symptomatic': true })],
  orders: () => gallium(5),
  expected: exp('covered', met('vF-symptomatic'), null) });
emit({ dir: VF, name: 'six-day-course', given: 'Hal', title: 'Gallium nitrate by E0781 ordered for a 6-day course — use beyond 5 days is denied (not covered)',
  exercises: 'L33794 V(F) via digest (NW 003 F): at most 5 days per course (parameter galliumMaxDays) — 6 days, one over',
  record: () => [...hyperCa(), caCorr(13.1), qr('qr-1', SET1)],
  orders: () => gallium(6),
  expected: exp('not-covered', { 'vF-gallium-max-5-days': 'not-met' }, warn('5 days')) });
emit({ dir: VF, name: 'calcium-not-documented', given: 'Io', title: 'Gallium nitrate by E0781 with no corrected calcium result and no symptom attestation — documentation needed (conditional), corrected calcium suggested',
  exercises: 'L33794 V(F) via digest: symptomatic hypercalcemia (corrected calcium) must be documented',
  record: () => [...hyperCa(), qr('qr-1', SET1)],
  orders: () => gallium(5),
  expected: exp('conditional', { 'vF-corrected-calcium': 'not-documented', 'vF-symptomatic': 'not-documented' }) });
set2Unanswered(VF, { what: 'Gallium nitrate by E0781', pump: 'E0781', drug: 'gallium', record: () => [...hyperCa(), caCorr(12.5)], answers: {} });

// V(G)
const VG = 'medicare-v-g-ziconotide';
const chronicPain = () => cond('c-pain', 'G89.4', 'Chronic pain syndrome');
emit({ dir: VG, name: 'ziconotide-covered', given: 'Jem', title: 'Ziconotide intrathecal by external pump E0781 for severe chronic pain refractory to systemic analgesics and intrathecal morphine — covered',
  exercises: 'L33794 V(G) via digest (NW 003 G): intrathecal therapy warranted, intolerant of or refractory to other treatment; criteria set 1',
  record: () => [chronicPain(), qr('qr-1', { ...SET1, 'vG-refractory': true })],
  orders: () => [pumpWith('E0781'), drug('ziconotide', { hours: 24, route: ['72607000', 'Intrathecal route'] })],
  expected: exp('covered', { ...met(...GEN, 'vG-ziconotide-intrathecal-refractory', 'vG-pump-fits-drug'), ...SET_LEAVES_MET }, null) });
emit({ dir: VG, name: 'not-refractory', given: 'Kip', title: 'Ziconotide by E0781, refractory to other treatment answered no — not covered',
  exercises: 'L33794 V(G) via digest: intolerant of or refractory to other treatment',
  record: () => [chronicPain(), qr('qr-1', { ...SET1, 'vG-refractory': false })],
  orders: () => [pumpWith('E0781'), drug('ziconotide', { hours: 24, route: ['72607000', 'Intrathecal route'] })],
  expected: exp('not-covered', { 'vG-ziconotide-intrathecal-refractory': 'not-met' }) });
emit({ dir: VG, name: 'ziconotide-on-k0455', given: 'Lev', title: 'Ziconotide ordered on K0455 — pump code does not fit the drug (not covered)',
  exercises: 'L33794 V(G) via digest (E0779/E0780/E0781/E0791)',
  record: () => [chronicPain(), qr('qr-1', { ...SET1, 'vG-refractory': true })],
  orders: () => [pumpWith('K0455'), drug('ziconotide', { hours: 24, route: ['72607000', 'Intrathecal route'] })],
  expected: exp('not-covered', { 'vG-pump-fits-drug': 'not-met' }) });
set2Unanswered(VG, { what: 'Ziconotide by E0781', pump: 'E0781', drug: 'ziconotide', record: () => [chronicPain()], answers: { 'vG-refractory': true } });

// V(H)
const VH = 'medicare-v-h-scig';
const pid = () => cond('c-pid', 'D80.0', 'Hereditary hypogammaglobulinemia');
const scig = (pump, name) => [pumpWith(pump), drug(name, { route: ['34206005', 'Subcutaneous route'] })];
emit({ dir: VH, name: 'hizentra-e0779-covered', given: 'Mae', title: 'Hizentra (J1559) on E0779 for primary immune deficiency, home administration necessary — covered',
  exercises: 'L33794 V(H) via digest (NW 003 H 1–4); A52507 SCIg pump/drug table (E0779 ↔ J1555, J1559, J1561, J1569, J1551, J1558)',
  record: () => [pid(), qr('qr-1', { 'vH-home-necessary': true })],
  orders: () => scig('E0779', 'hizentra'),
  expected: exp('covered', met(...GEN, 'vH-scig-product-home', 'vH-pid', 'vH-pair-e0779-pump', 'vH-pair-e0779-drug'), null) });
emit({ dir: VH, name: 'hyqvia-e0779-not-covered', given: 'Ned', title: 'HyQvia (J1575) on E0779 — not a listed pair: pump and drug denied (not covered, change the code to E0781)',
  exercises: 'A52507 SCIg pump/drug table via digest (HyQvia only with E0781; other combinations denied)',
  record: () => [pid(), qr('qr-1', { 'vH-home-necessary': true })],
  orders: () => scig('E0779', 'hyqvia'),
  expected: exp('not-covered', { 'vH-pair-e0779-drug': 'not-met', 'vH-pair-e0781-pump': 'not-met' }, warn('SCIg product paired with E0779 — not HyQvia')) });
emit({ dir: VH, name: 'hyqvia-e0781-covered', given: 'Ola', title: 'HyQvia (J1575) on E0781 for primary immune deficiency — covered',
  exercises: 'A52507 SCIg pump/drug table via digest (E0781 ↔ J1575, J1551, J1558)',
  record: () => [pid(), qr('qr-1', { 'vH-home-necessary': true })],
  orders: () => scig('E0781', 'hyqvia'),
  expected: exp('covered', met('vH-pair-e0781-pump', 'vH-pair-e0781-drug'), null) });
emit({ dir: VH, name: 'hizentra-e0781-not-covered', given: 'Pia', title: 'Hizentra (J1559) on E0781 — not a listed pair (not covered, change the code to E0779)',
  exercises: 'A52507 SCIg pump/drug table via digest (Hizentra only with E0779)',
  record: () => [pid(), qr('qr-1', { 'vH-home-necessary': true })],
  orders: () => scig('E0781', 'hizentra'),
  expected: exp('not-covered', { 'vH-pair-e0779-pump': 'not-met', 'vH-pair-e0781-drug': 'not-met' }, warn('E0779')) });
emit({ dir: VH, name: 'xembify-cidp-covered', given: 'Quin', title: 'Xembify (J1558) on E0781 for CIDP that responded to IVIg — covered (Xembify pairs with E0779 or E0781)',
  exercises: 'L33794 V(H) via digest (NW 003 H 5: CIDP that has responded to IVIg); A52507 pairs',
  record: () => [cond('c-cidp', 'G61.81', 'Chronic inflammatory demyelinating polyneuritis'), qr('qr-1', { 'vH-home-necessary': true, 'vH-cidp-ivig-response': true })],
  orders: () => scig('E0781', 'xembify'),
  expected: exp('covered', met('vH-cidp', 'vH-cidp-ivig-response'), null) });
emit({ dir: VH, name: 'cidp-ivig-response-not-documented', given: 'Rio', title: 'Hizentra on E0779 for CIDP, response to IVIg not documented — documentation needed (conditional)',
  exercises: 'L33794 V(H) via digest (NW 003 H 5): CIDP that has responded to IVIg',
  record: () => [cond('c-cidp', 'G61.81', 'Chronic inflammatory demyelinating polyneuritis'), qr('qr-1', { 'vH-home-necessary': true })],
  orders: () => scig('E0779', 'hizentra'),
  expected: exp('conditional', { 'vH-cidp-ivig-response': 'not-documented', 'vH-pid': 'not-documented' }) });
emit({ dir: VH, name: 'home-necessity-not-documented', given: 'Sy', title: 'Hizentra on E0779 for primary immune deficiency, home administration necessity not documented — documentation needed (conditional)',
  exercises: 'L33794 V(H) via digest (NW 003 H 3): the treating practitioner determined home administration is medically necessary',
  record: () => [pid()],
  orders: () => scig('E0779', 'hizentra'),
  expected: exp('conditional', { 'vH-scig-product-home': 'not-documented' }) });

// V(I)
const VI = 'medicare-v-i-parkinsons';
const pd = () => cond('c-pd', 'G20.A1', "Parkinson's disease without dyskinesia, without mention of fluctuations");
const VI_ALL = { ...SET1, 'vI-neurologist': true, 'vI-levodopa-responsive': true, 'vI-off-3h-despite-therapy': true };
const duopa = () => [pumpWith('E0781'), drug('duopa', { hours: 16, route: ['127492001', 'Via jejunostomy tube'] })];
emit({ dir: VI, name: 'duopa-covered', given: 'Tess', title: "Carbidopa/levodopa enteral suspension (Duopa) 16-hour infusion by E0781 for Parkinson's disease with disabling off periods — covered",
  exercises: "L33794 V(I) via digest (NW 003 I 1–4: neurologist, levodopa-responsive, off ≥ 3 h/day despite therapy); criteria set 1",
  record: () => [pd(), qr('qr-1', VI_ALL)],
  orders: () => duopa(),
  expected: exp('covered', { ...met(...GEN, 'vI-parkinsons-dx', 'vI-excluded-parkinsonism', 'vI-neurologist', 'vI-levodopa-responsive', 'vI-off-periods'), ...SET_LEAVES_MET }, null) });
emit({ dir: VI, name: 'atypical-parkinsonism', given: 'Uri', title: 'Duopa by E0781 for a patient with progressive supranuclear palsy (G23.1) — atypical parkinsonism is excluded (not covered)',
  exercises: 'L33794 V(I) via digest (NW 003 I exclusions: atypical or secondary parkinsonism)',
  record: () => [pd(), cond('c-psp', 'G23.1', 'Progressive supranuclear ophthalmoplegia [Steele-Richardson-Olszewski]'), qr('qr-1', VI_ALL)],
  orders: () => duopa(),
  expected: exp('not-covered', { 'vI-excluded-parkinsonism': 'not-met' }) });
emit({ dir: VI, name: 'no-parkinsons-diagnosis', given: 'Vera', title: "Duopa by E0781 with no Parkinson's disease diagnosis on record — documentation needed (conditional)",
  exercises: "L33794 V(I) via digest: Parkinson's disease (ICD-10 Group 4)",
  record: () => [qr('qr-1', VI_ALL)],
  orders: () => duopa(),
  expected: exp('conditional', { 'vI-parkinsons-dx': 'not-documented' }) });
emit({ dir: VI, name: 'off-periods-under-3-hours', given: 'Wyn', title: "Duopa by E0781, disabling off periods of at least 3 hours a day answered no — not covered",
  exercises: 'L33794 V(I) via digest (NW 003 I 4): off periods ≥ 3 h/day despite levodopa-carbidopa and another class',
  record: () => [pd(), qr('qr-1', { ...VI_ALL, 'vI-off-3h-despite-therapy': false })],
  orders: () => duopa(),
  expected: exp('not-covered', { 'vI-off-periods': 'not-met' }) });
set2Unanswered(VI, { what: 'Duopa by E0781', pump: 'E0781', drug: 'duopa', record: () => [pd()], answers: { 'vI-neurologist': true, 'vI-levodopa-responsive': true, 'vI-off-3h-despite-therapy': true } });

// V(J)
const VJ = 'medicare-v-j-blinatumomab';
const ball = () => cond('c-ball', 'C91.00', 'Acute lymphoblastic leukemia not having achieved remission');
const VJ_ALL = { ...SET1, 'vJ-pathway-within-cycles': true };
const blina = (q, name = 'blinatumomab', pump = 'E0781') => [pumpWith(pump), drug(name, { hours: 24, quantity: { value: q, unit: 'mcg', system: 'http://unitsofmeasure.org', code: 'ug' }, supplyDays: 28 })];
emit({ dir: VJ, name: 'blinatumomab-875-units-covered', given: 'Xia', title: 'Blinatumomab by E0781 for relapsed B-cell ALL, 875 mcg (25 vials) for the month — covered',
  exercises: 'L33794 V(J) via digest (NW 003 J: maximum 25 vials per month; A52507 875 units of J9039, parameter blinaMaxUnitsPerMonth) — exactly 875; criteria set 1',
  record: () => [ball(), qr('qr-1', VJ_ALL)],
  orders: () => blina(875),
  expected: exp('covered', { ...met(...GEN, 'vJ-b-all-dx', 'vJ-blinatumomab-indication', 'vJ-max-25-vials-month', 'vJ-pump-fits-drug'), ...SET_LEAVES_MET }, null) });
emit({ dir: VJ, name: 'blinatumomab-876-units', given: 'Yan', title: 'Blinatumomab by E0781, 876 mcg for the month — more than 25 vials is denied (not covered)',
  exercises: 'L33794 V(J) via digest: claims for more than 25 vials (875 units) a month denied — 876, one over',
  record: () => [ball(), qr('qr-1', VJ_ALL)],
  orders: () => blina(876),
  expected: exp('not-covered', { 'vJ-max-25-vials-month': 'not-met' }, warn('25 vials')) });
emit({ dir: VJ, name: 'blincyto-named-in-text-covered', given: 'Zoe', title: 'Blinatumomab written only as "Blincyto 28 mcg/day" on the drug order, E0781, relapsed B-cell ALL — recognised and covered',
  exercises: 'L33794 V(J) via digest; the drug named only in text is identified (its one J-code J9039) and selects situation J',
  record: () => [ball(), qr('qr-1', VJ_ALL)],
  orders: () => [pumpWith('E0781'), drugOrder('mr-drug', { text: 'Blincyto 28 mcg/day continuous infusion' }, { hours: 24, quantity: { value: 784, unit: 'mcg', system: 'http://unitsofmeasure.org', code: 'ug' } })],
  expected: exp('covered', met('vJ-max-25-vials-month', 'vJ-b-all-dx'), null) });
emit({ dir: VJ, name: 'pathway-answered-no', given: 'Ada', title: 'Blinatumomab by E0781, relapsed/MRD/consolidation pathway within the cycle limit answered no — not covered',
  exercises: 'L33794 V(J) via digest (NW 003 J 1–3): relapsed/refractory within 9 cycles, MRD ≥ 0.1% within 4 cycles, or the consolidation pathway',
  record: () => [ball(), qr('qr-1', { ...VJ_ALL, 'vJ-pathway-within-cycles': false })],
  orders: () => blina(875),
  expected: exp('not-covered', { 'vJ-blinatumomab-indication': 'not-met' }) });
emit({ dir: VJ, name: 'no-b-all-diagnosis', given: 'Ben', title: 'Blinatumomab by E0781 with no B-cell ALL diagnosis on record — documentation needed (conditional)',
  exercises: 'L33794 V(J) via digest: B-cell precursor ALL (ICD-10 Group 5)',
  record: () => [qr('qr-1', VJ_ALL)],
  orders: () => blina(875),
  expected: exp('conditional', { 'vJ-b-all-dx': 'not-documented' }) });
emit({ dir: VJ, name: 'blinatumomab-on-k0455', given: 'Cal', title: 'Blinatumomab ordered on K0455 — pump code does not fit the drug (not covered)',
  exercises: 'L33794 V(J) via digest (general-indication pumps; E0781 expected)',
  record: () => [ball(), qr('qr-1', VJ_ALL)],
  orders: () => blina(875, 'blinatumomab', 'K0455'),
  expected: exp('not-covered', { 'vJ-pump-fits-drug': 'not-met' }) });
set2Unanswered(VJ, { what: 'Blinatumomab by E0781', pump: 'E0781', drug: 'blinatumomab', record: () => [ball()], answers: { 'vJ-pathway-within-cycles': true } });

// ---- exclusions ------------------------------------------------------------------------------------------------------
const EH = 'medicare-excl-heparin-home';
emit({ dir: EH, name: 'home-heparin-not-covered', given: 'Dee', title: 'Heparin by E0781 at home for pulmonary embolism — heparin by home infusion pump is not covered by Medicare (remove suggested)',
  exercises: 'NCD 280.14 B.1.b (thromboembolic disease: only external pumps used in an institutional setting); COVERAGE-MAP E2',
  record: () => [cond('c-pe', 'I26.99', 'Other pulmonary embolism without acute cor pulmonale')],
  orders: () => [pumpWith('E0781'), drug('heparin', { hours: 24 })],
  expected: { [MR]: { outcome: 'not-covered' }, ...exp('not-covered', { 'excl-heparin-home-external': 'not-met' }, warn('eparin by home infusion pump is not covered by Medicare (NCD 280.14 B.1.b) — covered only in an institutional setting')) } });
emit({ dir: EH, name: 'heparin-inpatient', given: 'Eli', title: 'Heparin by E0791 during an inpatient stay for pulmonary embolism — an external pump for heparin is covered in an institutional setting (covered)',
  exercises: 'NCD 280.14 B.1.b (thromboembolic disease: external infusion pumps used in an institutional setting are covered); setting read from Encounter.class IMP',
  record: () => [cond('c-pe', 'I26.99', 'Other pulmonary embolism without acute cor pulmonale'), encounter('enc-inpt', 'IMP', 'inpatient encounter')],
  orders: () => [pumpWith('E0791', { encounter: 'enc-inpt' }), drug('heparin', { hours: 24 })],
  expected: exp('covered', { 'excl-heparin-home-external': 'met' }, null) });
emit({ dir: EH, name: 'not-heparin-covered', given: 'Flo', title: 'Deferoxamine by E0779 for iron overload — the heparin exclusion rides along on every external pump and does not apply (covered)',
  exercises: 'NCD 280.14 B.1.b: only heparin is excluded',
  record: () => [ironDx()],
  orders: () => [pumpWith('E0779'), drug('deferoxamine', { hours: 10 })],
  expected: exp('covered', met('excl-heparin-home-external'), null) });
const EV = 'medicare-excl-vancomycin';
emit({ dir: EV, name: 'vancomycin-not-covered', given: 'Gia', title: 'Vancomycin by E0781 for osteomyelitis — vancomycin by DME infusion pump is not covered by Medicare (remove suggested)',
  exercises: 'NCD 280.14 C.1 (vancomycin: elastomeric pump or gravity drip suffice); COVERAGE-MAP E5',
  record: () => [cond('c-osteo', 'M86.171', 'Other acute osteomyelitis, right ankle and foot')],
  orders: () => [pumpWith('E0781'), drug('vancomycin', { hours: 2, every: 12 })],
  expected: exp('not-covered', { 'excl-vancomycin-dme-pump': 'not-met' }, warn('ancomycin by DME infusion pump is not covered by Medicare', 'elastomeric pump or gravity drip')) });
emit({ dir: EV, name: 'not-vancomycin-covered', given: 'Hap', title: 'Deferoxamine by E0779 for iron overload — the vancomycin exclusion does not apply (covered)',
  exercises: 'NCD 280.14 C.1: only vancomycin is excluded',
  record: () => [ironDx()],
  orders: () => [pumpWith('E0779'), drug('deferoxamine', { hours: 10 })],
  expected: exp('covered', met('excl-vancomycin-dme-pump'), null) });
const ED = 'medicare-excl-disposable-pumps';
emit({ dir: ED, name: 'elastomeric-a4305', given: 'Ivy', title: 'Disposable elastomeric pump A4305 ordered for home antibiotics — not durable medical equipment (not covered, remove suggested)',
  exercises: 'A52507 via digest (A4305, A4306, A9274 non-covered: not DME); COVERAGE-MAP G2 / S9',
  orders: () => [devOrder('dr-pump', 'A4305')],
  expected: exp('not-covered', { 'excl-disposable-elastomeric': 'not-met' }, warn('disposable pumps are not DME')) });
emit({ dir: ED, name: 'disposable-a4306-with-morphine', given: 'Jax', title: 'Disposable drug delivery system A4306 with morphine for cancer pain — the disposable pump is not covered (the drug is not payable as a DME supply with it)',
  exercises: 'A52507 via digest (disposable systems and the drugs used with them are non-covered)',
  record: () => [lungCa()],
  orders: () => [pumpWith('A4306'), drug('morphine', { hours: 24 })],
  expected: exp('not-covered', { 'excl-disposable-elastomeric': 'not-met' }, warn('disposable pumps are not DME')) });
const EC = 'medicare-excl-infusion-controller';
emit({ dir: EC, name: 'infusion-controller', given: 'Kai', title: 'E1399 described as an infusion controller (gravity) — an infusion controller is not reasonable and necessary (not covered)',
  exercises: 'NW MISCELLANEOUS (E1399 infusion controller); L33794 via digest §1.6 (parameter e1399RequiresControllerText)',
  orders: () => [devOrder('dr-pump', 'E1399', { text: 'Infusion controller for gravity IV administration' })],
  expected: exp('not-covered', { 'excl-infusion-controller': 'not-met' }, warn('controller')) });
emit({ dir: EC, name: 'e1399-undescribed', given: 'Lin', title: 'E1399 (DME miscellaneous) with no description of the item — documentation needed (conditional)',
  exercises: 'NW MISCELLANEOUS: an E1399 item must be described before it can be judged',
  orders: () => [devOrder('dr-pump', 'E1399')],
  expected: exp('conditional', { 'excl-infusion-controller': 'not-documented' }) });
emit({ dir: EC, name: 'e1399-other-item', given: 'Mac', title: 'E1399 described as an ambulatory infusion pump with no drug identified — not a controller, but the general rules still need the drug and indication (conditional, never covered)',
  exercises: 'NW MISCELLANEOUS (only a controller is denied); MLN Example of Improper Payments (covered indication and drug)',
  orders: () => [devOrder('dr-pump', 'E1399', { text: 'Ambulatory infusion pump, patient-worn' })],
  expected: exp('conditional', { 'excl-infusion-controller': 'met' }) });

// ---- coding edits ----------------------------------------------------------------------------------------------------
const CE = 'medicare-external-coding-edits';
emit({ dir: CE, name: 'iv-pole-with-ambulatory-pump', given: 'Nia', title: 'IV pole E0776 ordered with the ambulatory pump E0781 — an IV pole is covered only with a stationary pump (not covered, remove the pole)',
  exercises: 'NW MISCELLANEOUS (IV pole E0776 only with E0791); L33794 via digest §1.6; COVERAGE-MAP C24',
  record: () => [ironDx()],
  orders: () => [pumpWith('E0781'), devOrder('dr-pole', 'E0776'), drug('deferoxamine', { hours: 10 })],
  expected: exp('not-covered', { 'edit-iv-pole-stationary-only': 'not-met' }, warn('IV pole only with E0791 (E0776 not associated with this pump)')) });
emit({ dir: CE, name: 'iv-pole-with-stationary-pump', given: 'Oz', title: 'IV pole E0776 with the stationary pump E0791 for deferoxamine — covered',
  exercises: 'NW MISCELLANEOUS (IV pole with E0791 covered)',
  record: () => [ironDx()],
  orders: () => [pumpWith('E0791'), devOrder('dr-pole', 'E0776'), drug('deferoxamine', { hours: 10 })],
  expected: exp('covered', met('edit-iv-pole-stationary-only', 'edit-insulin-supplies-only-e0784'), null) });
emit({ dir: CE, name: 'insulin-supplies-with-e0781', given: 'Pim', title: 'Insulin pump supplies A4224 ordered with E0781 for deferoxamine — A4224/A4225 only with E0784 (not covered, remove the supply)',
  exercises: 'A52507 supply association via digest; NW MISCELLANEOUS (A4224/A4225 with another pump: incorrect coding)',
  record: () => [ironDx()],
  orders: () => [pumpWith('E0781'), devOrder('dr-supply', 'A4224', { quantityWeeks: 4 }), drug('deferoxamine', { hours: 10 })],
  expected: exp('not-covered', { 'edit-insulin-supplies-only-e0784': 'not-met' }, warn('insulin supplies only with E0784 (A4224 not associated with this pump)')) });
emit({ dir: CE, name: 'non-insulin-supplies-with-e0781', given: 'Rae', title: 'Non-insulin supplies A4221 and A4222 with E0781 for deferoxamine — associated supplies (covered)',
  exercises: 'A52507 supply association via digest (A4221/A4222/K0552 with E0779/E0780/E0781/E0791/K0455)',
  record: () => [ironDx()],
  orders: () => [pumpWith('E0781'), devOrder('dr-supply', 'A4221', { quantityWeeks: 4 }), devOrder('dr-supply-2', 'A4222', { quantityWeeks: 4 }), drug('deferoxamine', { hours: 10 })],
  expected: { ...exp('covered', met('edit-insulin-supplies-only-e0784'), null), 'DeviceRequest/dr-supply': { outcome: 'covered' }, 'DeviceRequest/dr-supply-2': { outcome: 'covered' }, [MR]: { outcome: 'covered' } } });
emit({ dir: CE, name: 'insulin-supplies-refill-e0781-on-record', given: 'Sky', title: 'A4224 refill ordered alone for a patient whose pump on record is E0781 — insulin supplies with a non-insulin pump are incorrect coding (not covered)',
  exercises: 'NW MISCELLANEOUS; A52507 supply association via digest — against the pump on record (COVERAGE-MAP C23)',
  record: () => [ironDx(), device('dev-pump', 'E0781', 'Ambulatory infusion pump (patient-owned)')],
  orders: () => [devOrder('dr-supply', 'A4224', { quantityWeeks: 4 })],
  expected: { 'DeviceRequest/dr-supply': { outcome: 'not-covered', criteria: { 'edit-insulin-supplies-only-e0784': 'not-met' } } } });
emit({ dir: CE, name: 'insulin-on-e0779', given: 'Tor', title: 'Insulin (J1817) ordered on E0779 — insulin is covered only on E0784 (not covered, change the code to E0784)',
  exercises: 'LCD L33794 IV / A52507 via digest (insulin via any pump other than E0784 not reasonable and necessary)',
  record: () => [cond('c-dm', 'E10.65', 'Type 1 diabetes mellitus with hyperglycemia', { onset: '1999-01-01' })],
  orders: () => [pumpWith('E0779'), drug('insulin', { route: ['34206005', 'Subcutaneous route'] })],
  expected: exp('not-covered', met('edit-insulin-supplies-only-e0784', 'edit-iv-pole-stationary-only'), warn('E0784')) });

// ---- added after the COVERAGE-MAP review -------------------------------------------------------------------------------
emit({ dir: I3, name: 'morphine-inpatient-hospice-covered', given: 'Wally', title: 'Morphine by E0779 for intractable cancer pain during an inpatient hospice stay (Encounter class IMP) — covered: indication III covers inpatient and outpatient settings, including a hospice',
  exercises: 'NCD 280.14 B.1.d ("in either an inpatient or outpatient setting, including a hospice"): parameter homeSettingRequired false for indication III',
  record: () => [cond('c-ca', 'C25.9', 'Malignant neoplasm of pancreas, unspecified'), cond('c-pain', 'G89.3', 'Neoplasm related pain (acute) (chronic)'), encounter('enc-hospice', 'IMP', 'inpatient encounter')],
  orders: () => [pumpWith('E0779', { encounter: 'enc-hospice' }), drug('morphine', { hours: 24 })],
  expected: exp('covered', met('ext-home-setting', 'ind3-malignancy'), null) });
emit({ dir: CE, name: 'iv-pole-with-insulin-pump', given: 'Xavi', title: 'IV pole E0776 ordered with the insulin pump E0784 — an IV pole is covered only with a stationary pump (not covered, remove the pole)',
  exercises: 'NW MISCELLANEOUS (IV pole denied with ambulatory pumps E0779, E0780, E0784); COVERAGE-MAP C24 / S10',
  record: () => [cond('c-dm', 'E10.65', 'Type 1 diabetes mellitus with hyperglycemia', { onset: '1999-01-01' })],
  orders: () => [devOrder('dr-pump', 'E0784'), devOrder('dr-pole', 'E0776')],
  expected: exp('not-covered', { 'edit-iv-pole-stationary-only': 'not-met' }) });

// V(D) condition 5 and V(E)(c), added with their criteria.
const milrinoneOnRecord = () => ({ resourceType: 'MedicationStatement', id: 'ms-milrinone', status: 'active', medicationCodeableConcept: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J2260', display: 'Injection, milrinone lactate, 5 mg' }], text: 'Milrinone 0.375 mcg/kg/min home infusion' }, subject: { reference: `Patient/${'x'}` }, effectivePeriod: { start: '2025-12-01' }, dateAsserted: '2026-03-20' });
const hfVisit = (id, day) => ({ resourceType: 'Encounter', id, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' }, type: [{ text: 'Heart failure clinic follow-up' }], participant: [{ individual: { reference: 'PractitionerRole/pr-1' } }], period: { start: `${day}T15:00:00Z`, end: `${day}T15:40:00Z` } });
for (const [day, gap, outcome] of [['2025-12-31', 91, 'covered'], ['2025-12-30', 92, 'not-covered']]) {
  emit({ dir: VD, name: `continued-evaluation-${gap}-days-ago`, given: 'Yusuf', title: `Milrinone by E0781 continued after 4 months at home, last heart-failure evaluation ${gap} days before the order — ${outcome}`,
    exercises: `L33794 V(D) via digest (NW 003 D.5): evaluation every three months, read as 91 days (parameter vDVisitDaysMax) — ${gap === 91 ? 'exactly 91' : 'one day over'}; applies once the inotrope has been in use for that long`,
    record: () => [stageD(), withSubject(milrinoneOnRecord()), withSubject(hfVisit('enc-hf', day)), qr('qr-1', VD_ALL)],
    orders: () => [pumpWith('E0781'), drug('milrinone', { hours: 24 })],
    expected: exp(outcome, { 'vD-evaluation-every-3-months': outcome === 'covered' ? 'met' : 'not-met' }, outcome === 'covered' ? null : warn('92 days ago')) });
}
const sscPh = () => [cond('c-ssc', 'M34.0', 'Progressive systemic sclerosis'), cond('c-ph', 'I27.29', 'Other secondary pulmonary hypertension'), mpap('o-mpap', 36)];
emit({ dir: VE, name: 'secondary-ph-progressed-covered', given: 'Zara', title: 'Treprostinil on K0455 for pulmonary hypertension secondary to systemic sclerosis that progressed despite maximal treatment — covered',
  exercises: 'L33794 V(E) via digest (NW 003 E 2(a)): secondary PH must have progressed despite maximal treatment of the condition',
  record: () => [...sscPh(), qr('qr-1', { ...VE_ALL, 'vE-progressed': true })],
  orders: () => epo('K0455', 'treprostinil'),
  expected: exp('covered', met('vE-progressed-despite-treatment', 'vE-qualifying-ph'), null) });
emit({ dir: VE, name: 'secondary-ph-progression-not-documented', given: 'Amos', title: 'Treprostinil on K0455 for pulmonary hypertension secondary to systemic sclerosis, progression despite treatment not documented — documentation needed (conditional)',
  exercises: 'L33794 V(E) via digest (NW 003 E 2(a)); applies only when a listed associated condition is on record',
  record: () => [...sscPh(), qr('qr-1', VE_ALL)],
  orders: () => epo('K0455', 'treprostinil'),
  expected: exp('conditional', { 'vE-progressed-despite-treatment': 'not-documented' }, warn('PH progressed despite treatment')) });

// Supplies ordered without a pump (a refill), added with medicare-external-supplies.
const SUP = 'medicare-external-supplies';
const SUPPLY = 'DeviceRequest/dr-supply';
emit({ dir: SUP, name: 'a4221-refill-pump-on-record-covered', given: 'Bea', title: 'A4221 catheter supplies (4 weeks) ordered alone for a patient whose E0781 pump is on record — covered',
  exercises: 'NCD 280.14 B.1 NOTE (supplies of a covered pump); A52507 supply association via digest (A4221 with E0779/E0780/E0781/E0791/K0455)',
  record: () => [ironDx(), device('dev-pump', 'E0781', 'Ambulatory infusion pump (patient-owned)')],
  orders: () => [devOrder('dr-supply', 'A4221', { quantityWeeks: 4 })],
  expected: { [SUPPLY]: { outcome: 'covered', criteria: met(...GEN), card: null } } });
emit({ dir: SUP, name: 'a4222-alone-no-pump', given: 'Cato', title: 'A4222 infusion cassettes ordered alone, no pump ordered and none on record — supplies are payable only with a covered pump (not covered)',
  exercises: 'NCD 280.14 B.1 NOTE; A52507 via POLICY-DIGEST §1.1 G2 / §1.6 (billed without a covered pump: no benefit)',
  orders: () => [devOrder('dr-supply', 'A4222', { quantityWeeks: 4 })],
  expected: { [SUPPLY]: { outcome: 'not-covered', criteria: { 'ext-pump-in-order-set': 'not-met', 'ext-pump-on-record': 'not-met' } } } });
emit({ dir: SUP, name: 'a4221-refill-inpatient', given: 'Dov', title: 'A4221 supplies ordered during an inpatient stay for a patient with an E0781 pump on record — not for home use (not covered)',
  exercises: 'NCD 280.14 B.1 (external pumps and their supplies for the home); UHC MCS051.01 Part B vs Part D ¶3',
  record: () => [device('dev-pump', 'E0781', 'Ambulatory infusion pump (patient-owned)'), encounter('enc-inpt', 'IMP', 'inpatient encounter')],
  orders: () => [devOrder('dr-supply', 'A4221', { quantityWeeks: 4, encounter: 'enc-inpt' })],
  expected: { [SUPPLY]: { outcome: 'not-covered', criteria: { 'ext-home-setting': 'not-met' } } } });
emit({ dir: CE, name: 'non-insulin-supplies-refill-e0784-on-record', given: 'Enzo', title: 'A4222 cassettes ordered alone for a patient whose pump on record is the insulin pump E0784 — non-insulin supplies with E0784 are incorrect coding (not covered)',
  exercises: 'A52507 supply association via POLICY-DIGEST §1.8 (A4221, A4222, K0552 with E0784: incorrect coding) — against the pump on record',
  record: () => [device('dev-pump', 'E0784', 'Insulin pump (patient-owned)')],
  orders: () => [devOrder('dr-supply', 'A4222', { quantityWeeks: 4 })],
  expected: { [SUPPLY]: { outcome: 'not-covered', criteria: { 'edit-non-insulin-supplies-not-e0784': 'not-met' } } } });
