// HTML pages of the documentation form app. Three pages, no external assets (fhirclient's browser bundle is served by
// this service):
//   /forms/launch       SMART App Launch entry (EHR launch: `launch` + `iss`): FHIR.oauth2.authorize().
//   /forms/app          redirect target: FHIR.oauth2.ready(), then opens the form named by the CDS card's appContext
//                       (`{"questionnaire": "<canonical>"}`), resolved with GET /fhir/Questionnaire?url=.
//   /forms/{id}         the form. Launched (`?smart=1`): pre-filled from the record (the newest completed response to the
//                       same questionnaire, and items mapped to coded data), saved as a completed QuestionnaireResponse
//                       on the EHR's FHIR server. Opened directly (a card link): fillable, with the response shown as
//                       JSON to copy, since there is no record to write to.
import type { Questionnaire } from 'fhir/r4';
import { formLogic } from './logic.js';
import { escapeHtml, renderQuestionnaireForm, type PrefillRule } from './render.js';

export const FHIR_CLIENT_ASSET = '/forms/assets/fhir-client.js';

export interface FormAppOptions {
  clientId: string;
  scope: string;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f4e79;color:#fff;padding:.8rem 1.5rem} header h1{font-size:1.2rem;margin:0} header p{margin:.2rem 0 0;font-size:.85rem;opacity:.9}
main{max-width:860px;margin:1rem auto;padding:0 1rem}
.banner{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.6rem .9rem;margin-bottom:1rem;font-size:.9rem}
.banner.warn{border-color:#d4a72c;background:#fff8e1}
fieldset.group{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:0 0 1rem;padding:.6rem 1rem 1rem}
fieldset.group h2{font-size:1rem;margin:.2rem 0 .6rem;color:#1f4e79} fieldset.group h3{font-size:.95rem;margin:.4rem 0}
.question{padding:.55rem 0;border-top:1px solid #eef1f4} .question:first-of-type{border-top:0}
.question .text{margin-bottom:.35rem;line-height:1.35}
.yesno label{margin-right:1.2rem;cursor:pointer} .clear{font-size:.75rem;margin-left:.4rem}
.source{font-size:.8rem;color:#2e7d32;margin-top:.25rem} .source.prior{color:#555}
.required{color:#b00020}
.actions{display:flex;gap:.8rem;align-items:center;margin:1rem 0 2rem}
button.primary{background:#1f4e79;color:#fff;border:0;border-radius:4px;padding:.55rem 1.3rem;font-size:1rem;cursor:pointer}
button.primary:disabled{background:#8aa4bf;cursor:not-allowed}
#status{font-size:.9rem} #status.ok{color:#2e7d32} #status.error{color:#b00020}
pre{background:#fff;border:1px solid #d0d7de;padding:.6rem;overflow:auto;font-size:.75rem;max-height:20rem}
[hidden]{display:none !important}
`;

function shell(nonce: string, title: string, body: string, scripts: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${body}
${scripts}
</body>
</html>`;
}

/** Page security headers: scripts only from this service (nonce'd inline + the fhirclient bundle); the app talks to
 *  whichever FHIR server the EHR names, so connect-src is open. Framing is allowed (EHRs embed SMART apps). */
export function formCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    'connect-src *',
    "img-src 'self' data:",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const json = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

export function renderLaunchPage(nonce: string, opts: FormAppOptions): string {
  const script = `<script src="${FHIR_CLIENT_ASSET}"></script>
<script nonce="${nonce}">(() => {
  const q = new URLSearchParams(location.search);
  const msg = document.getElementById('status');
  if (!q.get('iss') || !q.get('launch')) { msg.textContent = 'This page is opened by an EHR (SMART App Launch with launch and iss).'; return; }
  FHIR.oauth2.authorize({ clientId: ${json(opts.clientId)}, scope: ${json(opts.scope)}, redirectUri: 'app', iss: q.get('iss'), launch: q.get('launch') })
    .catch((e) => { msg.textContent = 'Launch failed: ' + (e && e.message ? e.message : e); });
})();</script>`;
  return shell(nonce, 'pumpcheck – launching documentation form', '<main><p id="status" role="status">Connecting to the EHR…</p></main>', script);
}

export function renderAppPage(nonce: string): string {
  const script = `<script src="${FHIR_CLIENT_ASSET}"></script>
<script nonce="${nonce}">(async () => {
  const msg = document.getElementById('status');
  try {
    const client = await FHIR.oauth2.ready();
    let ctx = client.state.tokenResponse && client.state.tokenResponse.appContext;
    if (typeof ctx === 'string') { try { ctx = JSON.parse(ctx); } catch (e) { ctx = undefined; } }
    const canonical = ctx && typeof ctx.questionnaire === 'string' ? ctx.questionnaire.split('|')[0] : undefined;
    const base = location.pathname.replace(/\\/forms\\/app$/, '');
    const url = base + '/fhir/Questionnaire' + (canonical ? '?url=' + encodeURIComponent(canonical) : '');
    const bundle = await (await fetch(url, { headers: { Accept: 'application/fhir+json' } })).json();
    const entries = (bundle.entry || []).map((e) => e.resource);
    if (entries.length === 1) { location.replace(base + '/forms/' + encodeURIComponent(entries[0].id) + '?smart=1'); return; }
    msg.textContent = entries.length === 0 ? 'The EHR named a questionnaire this service does not publish.' : 'Choose a form:';
    const list = document.getElementById('choices');
    for (const q of entries) {
      const li = document.createElement('li'); const a = document.createElement('a');
      a.href = base + '/forms/' + encodeURIComponent(q.id) + '?smart=1'; a.textContent = q.title || q.name || q.id;
      li.appendChild(a); list.appendChild(li);
    }
  } catch (e) { msg.textContent = 'Launch failed: ' + (e && e.message ? e.message : e); }
})();</script>`;
  return shell(nonce, 'pumpcheck – documentation form', '<main><p id="status" role="status">Opening the form…</p><ul id="choices"></ul></main>', script);
}

export interface FormPageOptions {
  nonce: string;
  questionnaire: Questionnaire;
  prefill: PrefillRule[];
}

export function renderFormPage(opts: FormPageOptions): string {
  const q = opts.questionnaire;
  const title = q.title ?? q.name ?? q.id ?? 'Documentation form';
  const body = `<header><h1>${escapeHtml(title)}</h1><p>${escapeHtml(q.publisher ?? '')}${q.version ? ` · version ${escapeHtml(q.version)}` : ''}</p></header>
<main>
<div id="context" class="banner" role="status">Loading…</div>
${q.description ? `<p class="banner">${escapeHtml(q.description)}</p>` : ''}
${renderQuestionnaireForm(q)}
<div class="actions"><button type="button" id="save" class="primary" disabled>Save to the record</button><span id="status" role="status"></span></div>
<details id="json-box" hidden><summary>QuestionnaireResponse (JSON)</summary><pre id="json"></pre></details>
</main>
<script type="application/json" id="questionnaire">${json(q)}</script>
<script type="application/json" id="prefill">${json(opts.prefill)}</script>`;
  const script = `<script src="${FHIR_CLIENT_ASSET}"></script>
<script nonce="${opts.nonce}">(async () => {
  const L = (${formLogic.toString()})();
  const Q = JSON.parse(document.getElementById('questionnaire').textContent);
  const PREFILL = JSON.parse(document.getElementById('prefill').textContent);
  const byLinkId = L.index(Q.item);
  const form = document.getElementById('questionnaire-form');
  const status = document.getElementById('status');
  const save = document.getElementById('save');
  const banner = document.getElementById('context');
  const setStatus = (text, kind) => { status.textContent = text; status.className = kind || ''; };
  function read() {
    const answers = {};
    for (const el of form.querySelectorAll('[data-link-id]')) {
      const id = el.dataset.linkId, type = el.dataset.type, item = byLinkId[id];
      if (type === 'boolean') { const c = el.querySelector('input[type=radio]:checked'); if (c) answers[id] = c.value === 'true'; }
      else if (type === 'choice' || type === 'open-choice') { const s = el.querySelector('select'); if (s && s.value !== '') { const o = item.answerOption[Number(s.value)]; answers[id] = o.valueCoding || o.valueString || o.valueInteger || o.valueDate; } }
      else if (type !== 'group' && type !== 'display') { const i = el.querySelector('input,textarea'); if (i && i.value !== '') answers[id] = i.value; }
    }
    return answers;
  }
  function write(id, value) {
    const el = form.querySelector('[data-link-id="' + CSS.escape(id) + '"]'); if (!el) return;
    const type = el.dataset.type;
    if (type === 'boolean') { const r = el.querySelector('input[value="' + (value ? 'true' : 'false') + '"]'); if (r) r.checked = true; }
    else if (type === 'choice' || type === 'open-choice') { const i = (byLinkId[id].answerOption || []).findIndex((o) => JSON.stringify(o.valueCoding || o.valueString) === JSON.stringify(value)); if (i >= 0) el.querySelector('select').value = String(i); }
    else { const i = el.querySelector('input,textarea'); if (i) i.value = String(value); }
  }
  function note(id, text, cls) { const el = form.querySelector('[data-link-id="' + CSS.escape(id) + '"] .source'); if (el) { el.textContent = text; el.className = 'source ' + (cls || ''); } }
  function refresh() {
    const answers = read();
    for (const el of form.querySelectorAll('[data-link-id]')) el.hidden = !L.isEnabled(byLinkId[el.dataset.linkId], answers, byLinkId);
    return answers;
  }
  form.addEventListener('change', refresh);
  form.addEventListener('click', (e) => { const n = e.target && e.target.dataset && e.target.dataset.clear; if (n) { for (const r of form.querySelectorAll('input[name="' + CSS.escape(n) + '"]')) r.checked = false; refresh(); } });
  refresh();

  const launched = new URLSearchParams(location.search).get('smart') === '1';
  if (!launched) {
    banner.textContent = 'Opened outside an EHR launch: the answers cannot be saved to a record from here. Use the card\\'s "Complete the documentation form" app link in the EHR, or copy the response below.';
    banner.classList.add('warn');
    save.textContent = 'Show the response';
    save.disabled = false;
    save.addEventListener('click', () => {
      const qr = L.buildResponse(Q, refresh(), { canonical: Q.url, authored: new Date().toISOString() });
      document.getElementById('json').textContent = JSON.stringify(qr, null, 2);
      document.getElementById('json-box').hidden = false; document.getElementById('json-box').open = true;
    });
    return;
  }
  let client;
  try { client = await FHIR.oauth2.ready(); } catch (e) { banner.textContent = 'The EHR session could not be restored: ' + (e && e.message ? e.message : e); banner.classList.add('warn'); return; }
  const pid = client.getPatientId();
  if (!pid) { banner.textContent = 'The EHR launch named no patient.'; banner.classList.add('warn'); return; }
  try {
    const p = await client.request('Patient/' + encodeURIComponent(pid));
    const n = (p.name && p.name[0]) || {};
    banner.textContent = 'Patient: ' + [(n.given || []).join(' '), n.family].filter(Boolean).join(' ') + (p.birthDate ? ' · born ' + p.birthDate : '') + ' — answers are saved to the EHR record.';
  } catch (e) { banner.textContent = 'Patient ' + pid; }
  const entries = async (query) => { const b = await client.request(query, { pageLimit: 5, flat: true }); return Array.isArray(b) ? b : []; };
  // 1. The newest completed response to this questionnaire: shown as answered, never asked again as if blank.
  try {
    const canonical = Q.url;
    const prior = (await entries('QuestionnaireResponse?patient=' + encodeURIComponent(pid) + '&_count=100'))
      .filter((r) => (r.status === 'completed' || r.status === 'amended') && String(r.questionnaire || '').split('|')[0] === canonical)
      .sort((a, b) => String(b.authored || '').localeCompare(String(a.authored || '')))[0];
    if (prior) {
      const given = L.answersFrom(prior);
      for (const [id, v] of Object.entries(given)) { write(id, v); note(id, 'Answered on ' + String(prior.authored || '').slice(0, 10) + ' (previous form)', 'prior'); }
    }
  } catch (e) { setStatus('Previous answers could not be read.', 'error'); }
  // 2. Items mapped to coded data: "yes" when the record holds a matching resource.
  const answered = read();
  for (const rule of PREFILL) {
    if (answered[rule.linkId] !== undefined) continue;
    try {
      const hit = (await entries(rule.resourceType + '?patient=' + encodeURIComponent(pid) + '&_count=200'))
        .find((r) => L.matches(r, rule.include) && r.verificationStatus?.coding?.[0]?.code !== 'entered-in-error' && r.status !== 'entered-in-error');
      if (hit) {
        const c = (hit.code || (hit.type && hit.type[0]) || {}).coding || [];
        write(rule.linkId, true);
        note(rule.linkId, 'From the record: ' + ((c[0] && (c[0].display || c[0].code)) || rule.valueSetTitle) + ' (' + rule.resourceType + '/' + hit.id + ') — confirm or change', 'record');
      }
    } catch (e) { /* the item stays unanswered */ }
  }
  refresh();
  save.disabled = false;
  save.addEventListener('click', async () => {
    save.disabled = true; setStatus('Saving…');
    try {
      const user = client.getFhirUser && client.getFhirUser();
      const qr = L.buildResponse(Q, refresh(), { canonical: Q.url, subject: 'Patient/' + pid, author: user || undefined, authored: new Date().toISOString() });
      const saved = await client.create(qr);
      setStatus('Saved as QuestionnaireResponse/' + saved.id + '. Return to the order and sign again.', 'ok');
      document.body.dataset.saved = saved.id;
    } catch (e) { setStatus('Not saved: ' + (e && e.message ? e.message : e), 'error'); save.disabled = false; }
  });
})();</script>`;
  return shell(opts.nonce, title, body, script);
}
