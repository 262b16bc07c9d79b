// Questionnaire logic shared by the server (tests) and the form page in the browser: which items are enabled, how a
// QuestionnaireResponse is built from the answers, how a previous response pre-fills the form, and whether a record
// resource matches a value set. `formLogic` is self-contained (no imports, no outer references) because the page
// ships its source text (`formLogic.toString()`) to the browser: the code tested here is the code that runs there.
/* eslint-disable @typescript-eslint/no-explicit-any */

export type AnswerValue = boolean | string | number | { system?: string; code?: string; display?: string };
export type Answers = Record<string, AnswerValue | undefined>;

export interface IncludeMatcher {
  system: string;
  codes?: string[];
  prefixes?: string[];
}

export interface FormLogic {
  /** Every item (depth first) with its parent chain enabled; `enableWhen` with = / != / exists, enableBehavior all|any. */
  isEnabled(item: any, answers: Answers, byLinkId: Record<string, any>): boolean;
  /** linkId → item, for every item at any depth. */
  index(items: any[] | undefined): Record<string, any>;
  /** A completed QuestionnaireResponse answering the enabled, answered items (groups kept only when not empty). */
  buildResponse(questionnaire: any, answers: Answers, meta: { canonical: string; subject?: string; author?: string; authored: string }): any;
  /** Answers given in a previous response (by linkId). */
  answersFrom(response: any): Answers;
  /** True when a resource carries a coding in the matcher (codes exact, prefixes on the ICD-10-CM style code). */
  matches(resource: any, include: IncludeMatcher[]): boolean;
}

export function formLogic(): FormLogic {
  const answerOf = (value: any, type: string): any => {
    if (value === undefined || value === null || value === '') return undefined;
    switch (type) {
      case 'boolean':
        return typeof value === 'boolean' ? { valueBoolean: value } : undefined;
      case 'date':
        return /^\d{4}(-\d{2}(-\d{2})?)?$/.test(String(value)) ? { valueDate: String(value) } : undefined;
      case 'dateTime':
        return { valueDateTime: String(value) };
      case 'integer': {
        const n = Number(value);
        return Number.isInteger(n) ? { valueInteger: n } : undefined;
      }
      case 'decimal': {
        const n = Number(value);
        return Number.isFinite(n) ? { valueDecimal: n } : undefined;
      }
      case 'choice':
      case 'open-choice':
        return typeof value === 'object' ? { valueCoding: value } : { valueString: String(value) };
      case 'url':
        return { valueUri: String(value) };
      default:
        return { valueString: String(value) };
    }
  };
  const same = (a: any, b: any): boolean => {
    if (a && typeof a === 'object' && b && typeof b === 'object') return a.code === b.code && (a.system ?? '') === (b.system ?? '');
    return a === b;
  };
  const expected = (ew: any): any => {
    for (const k of Object.keys(ew)) if (k.startsWith('answer')) return ew[k];
    return undefined;
  };
  const logic: FormLogic = {
    index(items) {
      const out: Record<string, any> = {};
      const walk = (list: any[] | undefined, parent: any) => {
        for (const it of list ?? []) {
          out[it.linkId] = it;
          Object.defineProperty(it, '__parent', { value: parent, enumerable: false, configurable: true });
          walk(it.item, it);
        }
      };
      walk(items, undefined);
      return out;
    },
    isEnabled(item, answers, byLinkId) {
      for (let it = item; it; it = it.__parent) {
        const conditions: any[] = it.enableWhen ?? [];
        if (conditions.length === 0) continue;
        const results = conditions.map((ew) => {
          const source = byLinkId[ew.question];
          const given = answers[ew.question];
          const present = given !== undefined && given !== '' && (!source || logic.isEnabled(source, answers, byLinkId));
          if (ew.operator === 'exists') return present === expected(ew);
          if (!present) return ew.operator === '!=';
          return ew.operator === '!=' ? !same(given, expected(ew)) : same(given, expected(ew));
        });
        const ok = it.enableBehavior === 'any' ? results.some(Boolean) : results.every(Boolean);
        if (!ok) return false;
      }
      return true;
    },
    buildResponse(questionnaire, answers, meta) {
      const byLinkId = logic.index(questionnaire.item);
      const build = (items: any[] | undefined): any[] => {
        const out: any[] = [];
        for (const it of items ?? []) {
          if (it.type === 'display' || !logic.isEnabled(it, answers, byLinkId)) continue;
          if (it.type === 'group') {
            const children = build(it.item);
            if (children.length > 0) out.push({ linkId: it.linkId, ...(it.text ? { text: it.text } : {}), item: children });
            continue;
          }
          const answer = answerOf(answers[it.linkId], it.type);
          if (answer) out.push({ linkId: it.linkId, ...(it.text ? { text: it.text } : {}), answer: [answer] });
        }
        return out;
      };
      const qr: any = {
        resourceType: 'QuestionnaireResponse',
        questionnaire: meta.canonical + (questionnaire.version ? `|${questionnaire.version}` : ''),
        status: 'completed',
        authored: meta.authored,
      };
      if (meta.subject) qr.subject = { reference: meta.subject };
      if (meta.author) qr.author = { reference: meta.author };
      qr.item = build(questionnaire.item);
      return qr;
    },
    answersFrom(response) {
      const out: Answers = {};
      const walk = (items: any[] | undefined) => {
        for (const it of items ?? []) {
          const a = it.answer?.[0];
          if (a) {
            const v =
              a.valueBoolean ?? a.valueDate ?? a.valueDateTime ?? a.valueInteger ?? a.valueDecimal ?? a.valueString ?? a.valueUri ?? a.valueCoding;
            if (v !== undefined) out[it.linkId] = v;
            for (const nested of it.answer ?? []) walk(nested.item);
          }
          walk(it.item);
        }
      };
      walk(response?.item);
      return out;
    },
    matches(resource, include) {
      const concepts: any[] = [resource?.code, ...(resource?.type ?? []), resource?.codeCodeableConcept, resource?.medicationCodeableConcept, resource?.type && !Array.isArray(resource.type) ? resource.type : undefined];
      // As the service's value sets: dots and case not significant in codes, http/https not in systems.
      const loose = (code: string) => code.trim().replace(/\./g, '').toUpperCase();
      const sys = (s: unknown) => String(s ?? '').replace(/^https?:\/\//, '').replace(/\/+$/, '');
      for (const cc of concepts) {
        for (const c of cc?.coding ?? []) {
          if (typeof c?.code !== 'string') continue;
          const code = loose(c.code);
          for (const inc of include) {
            if (sys(inc.system) !== sys(c.system)) continue;
            if ((inc.codes ?? []).some((x) => loose(x) === code)) return true;
            if ((inc.prefixes ?? []).some((p) => code.startsWith(loose(p)))) return true;
          }
        }
      }
      return false;
    },
  };
  return logic;
}
