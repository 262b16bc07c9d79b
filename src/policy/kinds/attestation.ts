// attestation: an item of the policy's documentation Questionnaire, answered in a completed QuestionnaireResponse —
// yes/no (default), a choice (`answers`: which codes meet it and which contradict it) or a number (`min`). `no` says
// what an explicit "no" means: not met (default) or, for a rule that may only ask for documentation and never deny
// (a retired LCD used as a documentation prompt), not documented.
import { booleanAnswer, latestAnswer } from '../facts/common.js';
import type { Evidence, TriState } from '../types.js';
import { none, refOf, result } from './common.js';
import { S } from './schema.js';
import type { CriterionKind, KindOutcome } from './types.js';

export interface AttestationParams {
  linkId: string;
  dateLinkId?: string;
  questionnaire?: string;
  /** Choice items: answer codes that meet the criterion, and those that contradict it; any other answer is not documented. */
  answers?: { met?: string[]; notMet?: string[] };
  /** Numeric items: the answer must be at least this. */
  min?: number;
  /** What an explicit "no" (a contradicting choice, a number below `min`) means. */
  no?: 'not-met' | 'not-documented';
}

export const attestation: CriterionKind<AttestationParams> = {
  name: 'attestation',
  paramsSchema: {
    type: 'object',
    required: ['linkId'],
    additionalProperties: false,
    properties: {
      linkId: S.linkId,
      dateLinkId: S.linkId,
      questionnaire: S.questionnaire,
      answers: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          met: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          notMet: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        },
      },
      min: S.num,
      no: { enum: ['not-met', 'not-documented'] },
    },
    not: { required: ['answers', 'min'] },
  },
  dataRequirements: () => [{ type: 'QuestionnaireResponse' }],
  evaluate(ctx, p) {
    const questionnaire = p.questionnaire ?? ctx.questionnaire;
    if (!questionnaire) throw new Error('attestation without a questionnaire (set the policy\'s "questionnaire")');
    const values = { linkId: p.linkId, questionnaire };
    const no: TriState = p.no ?? 'not-met';
    const contradicted = (ev: Evidence, v: Record<string, string | number | boolean>): KindOutcome =>
      ({ ...result(no, 'attestation', no === 'not-met' ? 'no' : 'no-soft', [ev], { ...values, ...v }) });
    if (p.answers || p.min !== undefined) {
      const hit = latestAnswer(ctx, questionnaire, p.linkId, p.dateLinkId);
      if (!hit) return none('attestation', [], values);
      const shown = hit.display ?? hit.code ?? (hit.number !== undefined ? String(hit.number) : hit.value ? 'yes' : 'no');
      const ev: Evidence = {
        reference: refOf(hit.qr),
        value: `answered: ${shown}`,
        note: hit.date ? `date given: ${hit.date}` : `attested in questionnaire ${questionnaire}`,
        ...(hit.qr.authored ? { date: hit.qr.authored } : {}),
      };
      if (p.min !== undefined) {
        if (hit.number === undefined) return result('not-documented', 'attestation', 'other-answer', [ev], { ...values, answer: shown });
        return hit.number >= p.min
          ? result('met', 'attestation', 'yes', [ev], { ...values, answer: hit.number, min: p.min })
          : contradicted(ev, { answer: hit.number, min: p.min });
      }
      // A yes/no item reads as the codes "yes" / "no" (so a "yes" can be the contradicting answer).
      if (hit.code === undefined && hit.value !== undefined) hit.code = hit.value ? 'yes' : 'no';
      if (hit.code !== undefined && p.answers!.met?.includes(hit.code)) return result('met', 'attestation', 'yes', [ev], { ...values, answer: hit.code });
      if (hit.code !== undefined && p.answers!.notMet?.includes(hit.code)) return contradicted(ev, { answer: shown });
      return result('not-documented', 'attestation', 'other-answer', [ev], { ...values, answer: shown });
    }
    const hit = booleanAnswer(ctx, questionnaire, p.linkId, p.dateLinkId);
    if (!hit) return none('attestation', [], values);
    const ev: Evidence = {
      reference: refOf(hit.qr),
      value: `${p.linkId}: ${hit.value ? 'yes' : 'no'}`,
      note: hit.date ? `date given: ${hit.date}` : `attested in questionnaire ${questionnaire}`,
      ...(hit.qr.authored ? { date: hit.qr.authored } : {}),
    };
    return hit.value
      ? result('met', 'attestation', 'yes', [ev], { ...values, ...(hit.date ? { date: hit.date } : {}) })
      : contradicted(ev, {});
  },
};
