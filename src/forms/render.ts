// Server-side rendering of a Questionnaire as an HTML form: the item types the published questionnaires use
// (group, display, boolean, date, dateTime, string, text, integer, decimal, url, choice with answerOption). Answers
// are read back by linkId in the browser (page.ts); enableWhen is evaluated there with the same logic as in tests.
import type { Questionnaire, QuestionnaireItem } from 'fhir/r4';
import type { IncludeMatcher } from './logic.js';

/** Item extension: pre-fill a boolean item with "yes" when the record holds a resource coded in a value set. */
export const PREFILL_EXTENSION = 'http://pumpcheck.example.org/fhir/StructureDefinition/prefill-from-record';

export interface PrefillRule {
  linkId: string;
  resourceType: string;
  valueSetTitle: string;
  include: IncludeMatcher[];
}

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** `{resourceType, valueSet}` of an item's prefill extension, when present and well formed. */
export function prefillOf(item: QuestionnaireItem): { resourceType: string; valueSet: string } | undefined {
  const ext = item.extension?.find((e) => e.url === PREFILL_EXTENSION);
  const resourceType = ext?.extension?.find((e) => e.url === 'resourceType')?.valueCode;
  const valueSet = ext?.extension?.find((e) => e.url === 'valueSet')?.valueString;
  return resourceType && valueSet ? { resourceType, valueSet } : undefined;
}

function control(item: QuestionnaireItem): string {
  const id = `q-${item.linkId}`;
  const name = escapeHtml(item.linkId);
  switch (item.type) {
    case 'boolean':
      return (
        `<span class="yesno" role="radiogroup" aria-labelledby="${escapeHtml(id)}-label">` +
        `<label><input type="radio" name="${name}" value="true"> Yes</label>` +
        `<label><input type="radio" name="${name}" value="false"> No</label>` +
        `<button type="button" class="clear" data-clear="${name}">Clear</button></span>`
      );
    case 'date':
      return `<input id="${escapeHtml(id)}" name="${name}" type="date">`;
    case 'dateTime':
      return `<input id="${escapeHtml(id)}" name="${name}" type="datetime-local">`;
    case 'integer':
      return `<input id="${escapeHtml(id)}" name="${name}" type="number" step="1">`;
    case 'decimal':
      return `<input id="${escapeHtml(id)}" name="${name}" type="number" step="any">`;
    case 'text':
      return `<textarea id="${escapeHtml(id)}" name="${name}" rows="3"></textarea>`;
    case 'url':
      return `<input id="${escapeHtml(id)}" name="${name}" type="url">`;
    case 'choice':
    case 'open-choice': {
      const options = (item.answerOption ?? [])
        .map((o, i) => {
          const label = o.valueCoding?.display ?? o.valueCoding?.code ?? o.valueString ?? String(o.valueInteger ?? o.valueDate ?? '');
          return `<option value="${i}">${escapeHtml(label)}</option>`;
        })
        .join('');
      return `<select id="${escapeHtml(id)}" name="${name}"><option value="">—</option>${options}</select>`;
    }
    default:
      return `<input id="${escapeHtml(id)}" name="${name}" type="text">`;
  }
}

function renderItems(items: QuestionnaireItem[] | undefined, depth: number): string {
  return (items ?? [])
    .map((item) => {
      const attrs = `data-link-id="${escapeHtml(item.linkId)}" data-type="${escapeHtml(item.type)}"`;
      if (item.type === 'group') {
        const h = depth === 0 ? 'h2' : 'h3';
        return `<fieldset class="group" ${attrs}><${h}>${escapeHtml(item.text ?? '')}</${h}>${renderItems(item.item, depth + 1)}</fieldset>`;
      }
      if (item.type === 'display') return `<p class="display" ${attrs}>${escapeHtml(item.text ?? '')}</p>`;
      return (
        `<div class="question" ${attrs}><div class="text" id="q-${escapeHtml(item.linkId)}-label">${escapeHtml(item.text ?? '')}` +
        `${item.required ? ' <span class="required" title="required">*</span>' : ''}</div>` +
        `<div class="control">${control(item)}</div><div class="source" aria-live="polite"></div></div>`
      );
    })
    .join('');
}

export function renderQuestionnaireForm(q: Questionnaire): string {
  return `<form id="questionnaire-form" novalidate>${renderItems(q.item, 0)}</form>`;
}
