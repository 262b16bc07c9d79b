// The wording the analytics page uses instead of ids: each policy's own short criterion labels (the `label` of a
// criterion, else its full text) and the override-reason displays the cards offer.
import { OVERRIDE_REASONS } from '../../cards/build.js';
import type { PolicySet } from '../policy/loader.js';
import type { PolicyNode } from '../policy/model.js';
import type { AnalyticsLabels } from './analytics-page.js';

export function analyticsLabels(policySet: Pick<PolicySet, 'policies'>): AnalyticsLabels {
  const criteria = new Map<string, string>();
  for (const policy of policySet.policies) {
    const walk = (node: PolicyNode) => {
      criteria.set(`${policy.id}\u0000${node.id}`, node.label ?? node.text);
      if (node.kind === 'allOf' || node.kind === 'anyOf' || node.kind === 'firstDocumented') node.children.forEach(walk);
      else if (node.kind === 'not') walk(node.child);
    };
    walk(policy.criteria);
  }
  const reasons = new Map(OVERRIDE_REASONS.map((r) => [`${r.system ?? ''}|${r.code}`, r.display ?? r.code ?? '']));
  const byCode = new Map(OVERRIDE_REASONS.map((r) => [r.code ?? '', r.display ?? '']));
  return {
    criterion: (policyId, criterionId) => criteria.get(`${policyId}\u0000${criterionId}`),
    reason: (system, code) => (system ? reasons.get(`${system}|${code}`) : byCode.get(code)) || undefined,
  };
}
