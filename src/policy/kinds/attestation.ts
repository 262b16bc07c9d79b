// attestation: a yes/no item of the policy's documentation Questionnaire, answered in a completed QuestionnaireResponse.
import { booleanAnswer } from '../facts/common.js';
import type { Evidence } from '../types.js';
import { none, refOf, result } from './common.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface AttestationParams { linkId: string; dateLinkId?: string; questionnaire?: string }

export const attestation: CriterionKind<AttestationParams> = {
  name: 'attestation',
  paramsSchema: {
    type: 'object',
    required: ['linkId'],
    additionalProperties: false,
    properties: { linkId: S.linkId, dateLinkId: S.linkId, questionnaire: S.questionnaire },
  },
  dataRequirements: () => [{ type: 'QuestionnaireResponse' }],
  evaluate(ctx, p) {
    const questionnaire = p.questionnaire ?? ctx.questionnaire;
    if (!questionnaire) throw new Error('attestation without a questionnaire (set the policy\'s "questionnaire")');
    const hit = booleanAnswer(ctx, questionnaire, p.linkId, p.dateLinkId);
    const values = { linkId: p.linkId, questionnaire };
    if (!hit) return none('attestation', [], values);
    const ev: Evidence = {
      reference: refOf(hit.qr),
      value: `${p.linkId}: ${hit.value ? 'yes' : 'no'}`,
      note: hit.date ? `date given: ${hit.date}` : `attested in questionnaire ${questionnaire}`,
      ...(hit.qr.authored ? { date: hit.qr.authored } : {}),
    };
    return hit.value
      ? result('met', 'attestation', 'yes', [ev], { ...values, ...(hit.date ? { date: hit.date } : {}) })
      : result('not-met', 'attestation', 'no', [ev], values);
  },
};
