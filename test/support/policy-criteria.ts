// The one place that walks a loaded policy's criteria tree (the tree's shape belongs to src/policy/model.ts; when it
// changes, only this function changes). Used by the policy report and by the case runner's criterion-id checks.
import type { LoadedPolicy, PolicyNode } from '../../src/policy/model.js';

export interface CriterionInfo {
  id: string;
  /** Depth in the tree (root = 0). */
  depth: number;
  /** `allOf` / `anyOf` / `firstDocumented` / `not` for groups; the leaf's kind or `fact:<name>` / `fhirpath` for leaves. */
  kind: string;
  leaf: boolean;
  /**
   * The audit record names this criterion: a leaf, or a `not` node (reported as a unit — its text states the
   * requirement, the leaf below it the opposite; see `decisiveLeaves` in src/policy/engine.ts).
   */
  reported: boolean;
  citation: string;
  /** JSON pointer of the node in its policy file. */
  pointer: string;
}

/** Every criterion of the policy, depth first, in file order. */
export function policyCriteria(policy: Pick<LoadedPolicy, 'criteria'>): CriterionInfo[] {
  const out: CriterionInfo[] = [];
  const visit = (n: PolicyNode, depth: number): void => {
    const base = { id: n.id, depth, citation: n.citation ?? '', pointer: n.pointer };
    switch (n.kind) {
      case 'allOf':
      case 'anyOf':
      case 'firstDocumented':
        // A group with `collapseIf` is reported as one gap in its situation: the audit record can name it.
        out.push({ ...base, kind: n.kind, leaf: !!n.collapseIf, reported: !!n.collapseIf });
        for (const c of n.children) visit(c, depth + 1);
        return;
      case 'not':
        out.push({ ...base, kind: 'not', leaf: false, reported: true });
        visit(n.child, depth + 1);
        return;
      case 'fact':
        out.push({ ...base, kind: `fact:${n.fact}`, leaf: true, reported: true });
        return;
      default:
        out.push({ ...base, kind: n.kind, leaf: true, reported: true });
    }
  };
  visit(policy.criteria, 0);
  return out;
}
