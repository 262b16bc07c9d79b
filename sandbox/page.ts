// The order-entry sandbox page: a small EHR in the browser. Pick a patient (read from the sandbox FHIR server),
// compose pump orders, and the page calls the service as an EHR does — order-select when an order is selected,
// order-sign on signing — over HTTP with a signed ES384 JWT (asked of the sandbox server, which holds the key the
// service trusts), with fhirServer + fhirAuthorization so the service reads the record itself. Cards are rendered the
// way EHRs show them: indicator, summary, markdown detail, suggestion buttons, links (absolute and SMART), override
// reasons; accepting a suggestion applies its actions to the draft; responses are sent as CDS Hooks feedback.

export interface SandboxPageConfig {
  /** The FHIR base of the EHR (CORS-enabled). */
  fhirBase: string;
  /** Where the page gets JWTs for an audience (POST {aud} → {token}); relative to the page. */
  jwtPath: string;
  /** Base URL of the pumpcheck service (usually this origin). */
  serviceBase: string;
  /** The ordering practitioner (context.userId). */
  userId: string;
  patients: { id: string; title: string; expected: string; order: { pump?: string; drug?: string; supplies: string[] } }[];
  /** YYYY-MM-DD the orders are dated. */
  today: string;
}

const STYLE = `
*{box-sizing:border-box} body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2933;background:#eef2f6}
header{background:#243b53;color:#fff;padding:.7rem 1.2rem;display:flex;gap:1rem;align-items:baseline} header h1{font-size:1.15rem;margin:0} header span{opacity:.8;font-size:.85rem}
main{display:grid;grid-template-columns:minmax(360px,440px) 1fr;gap:1rem;padding:1rem;align-items:start}
section.panel{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:.8rem 1rem}
h2{font-size:1rem;margin:.2rem 0 .6rem;color:#243b53}
label{display:block;font-size:.85rem;margin:.45rem 0 .15rem;color:#486581}
select,input[type=number]{width:100%;font:inherit;padding:.35rem;border:1px solid #bcccdc;border-radius:4px;background:#fff}
.supplies label{display:inline-flex;gap:.3rem;margin-right:1rem;color:#1f2933}
.situation{font-size:.82rem;color:#334e68;background:#f0f4f8;border-radius:4px;padding:.45rem .6rem;margin-top:.4rem}
button{font:inherit;cursor:pointer;border-radius:4px;border:1px solid #9fb3c8;background:#fff;padding:.4rem .9rem}
button.primary{background:#2680c2;border-color:#2680c2;color:#fff} button.sign{background:#2f8132;border-color:#2f8132;color:#fff}
.row{display:flex;gap:.5rem;margin-top:.8rem;flex-wrap:wrap}
#draft{list-style:none;padding:0;margin:.4rem 0} #draft li{border:1px solid #d9e2ec;border-radius:4px;padding:.4rem .6rem;margin:.3rem 0;cursor:pointer;font-size:.88rem}
#draft li.selected{border-color:#2680c2;background:#e6f2fb} #draft li .code{font-weight:600}
#draft li .cov{float:right;font-size:.75rem;padding:.05rem .4rem;border-radius:8px;background:#d9e2ec}
.cov.covered{background:#c6f7d0!important;color:#05400a} .cov.conditional{background:#fff3c4!important;color:#5c4813} .cov.not-covered{background:#ffd0d0!important;color:#610404}
#status{font-size:.85rem;color:#486581;min-height:1.2em;margin:.3rem 0}
#cards:empty::before{content:"No cards yet: select or sign an order.";color:#829ab1;font-size:.9rem}
.card{border:1px solid #d9e2ec;border-left-width:6px;border-radius:6px;padding:.6rem .8rem;margin:0 0 .8rem;background:#fff}
.card.info{border-left-color:#2680c2} .card.warning{border-left-color:#f0b429;background:#fffbea} .card.critical{border-left-color:#d64545;background:#fff5f5}
.card .head{display:flex;gap:.5rem;align-items:baseline} .card .badge{font-size:.7rem;text-transform:uppercase;font-weight:700;padding:.1rem .4rem;border-radius:3px;background:#2680c2;color:#fff}
.card.warning .badge{background:#de911d} .card.critical .badge{background:#d64545}
.card .summary{font-weight:600} .card .source{font-size:.75rem;color:#627d98;margin:.2rem 0}
.card .detail{font-size:.88rem;line-height:1.4} .card .detail p{margin:.4rem 0} .card .detail ul{margin:.3rem 0;padding-left:1.2rem}
.card .actions{display:flex;flex-wrap:wrap;gap:.4rem;margin-top:.5rem;align-items:center}
.card .links a{margin-right:.8rem;font-size:.85rem}
.card .override{display:flex;gap:.4rem;align-items:center;margin-top:.5rem;font-size:.8rem} .card .override select{width:auto;max-width:22rem;font-size:.8rem}
.card.done{opacity:.55}
`;

function clientScript(cfg: SandboxPageConfig): string {
  return `(() => {
  const CFG = ${JSON.stringify(cfg).replace(/</g, '\\u003c')};
  const $ = (id) => document.getElementById(id);
  const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
  const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
  const PUMPS = { E0784: 'External ambulatory infusion pump, insulin', E0781: 'Ambulatory infusion pump, single or multiple channels', E0783: 'Infusion pump system, implantable, programmable' };
  const DRUGS = { '86009': 'insulin lispro', '51428': 'insulin aspart', '274783': 'insulin glargine' };
  const SUPPLIES = { A4224: 'Supplies for maintenance of insulin infusion catheter, per week', A4225: 'Supplies for external insulin infusion pump, syringe type cartridge, sterile, each', A4230: 'Infusion set for external insulin pump, non needle cannula type' };
  const state = { patient: null, draft: [], selected: null, coverage: {}, feedbackSent: new Set() };
  const uuid = () => crypto.randomUUID();
  const authored = CFG.today + 'T' + new Date().toISOString().slice(11, 19) + 'Z';
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const setStatus = (t) => { $('status').textContent = t; };

  // --- Markdown as EHRs render card detail (escaped first; links only http(s)).
  function inline(text) {
    let s = esc(text);
    s = s.replace(/\\[([^\\]]+)\\]\\(&lt;(https?:[^)\\s]*?)&gt;\\)|\\[([^\\]]+)\\]\\((https?:[^)\\s]+)\\)/g, (m, t1, u1, t2, u2) => '<a href="' + (u1 || u2) + '" target="_blank" rel="noopener">' + (t1 || t2) + '</a>');
    s = s.replace(/\\*\\*([^*]+)\\*\\*/g, '<strong>$1</strong>').replace(/(^|[\\s(])_([^_]+)_(?=[\\s).,;:]|$)/g, '$1<em>$2</em>');
    return s.replace(/\\\\([\\\\\`*_\\[\\]<>|~#.!-])/g, '$1').replace(/\\\\(&gt;|&lt;)/g, '$1');
  }
  function markdown(md) {
    return String(md || '').split(/\\n{2,}/).map((block) => {
      const lines = block.split('\\n');
      // Nested items (two spaces a level) are indented as an EHR's markdown renderer nests them.
      if (lines.every((l) => /^\\s*[-*] /.test(l))) return '<ul>' + lines.map((l) => '<li style="margin-left:' + (Math.floor(l.search(/\\S/) / 2) * 1.2) + 'rem">' + inline(l.replace(/^\\s*[-*] /, '')) + '</li>').join('') + '</ul>';
      return '<p>' + lines.map(inline).join('<br>') + '</p>';
    }).join('');
  }

  // --- The EHR's FHIR server.
  async function fhir(path) {
    const res = await fetch(CFG.fhirBase + '/' + path, { headers: { Accept: 'application/fhir+json' } });
    if (!res.ok) throw new Error('FHIR ' + res.status);
    return res.json();
  }
  async function loadPatients() {
    const bundle = await fhir('Patient?_count=200');
    const byId = new Map((bundle.entry || []).map((e) => [e.resource.id, e.resource]));
    const sel = $('patient');
    sel.innerHTML = '';
    for (const p of CFG.patients) {
      const r = byId.get(p.id); if (!r) continue;
      const n = (r.name && r.name[0]) || {};
      const o = document.createElement('option');
      o.value = p.id; o.textContent = [(n.given || []).join(' '), n.family].filter(Boolean).join(' ') + ' — ' + p.title.split(' — ')[0].slice(0, 70);
      sel.appendChild(o);
    }
    pickPatient();
  }
  function pickPatient() {
    const p = CFG.patients.find((x) => x.id === $('patient').value);
    state.patient = p;
    $('situation').textContent = p ? p.title + ' (expected: ' + p.expected + ')' : '';
    if (p) {
      $('pump').value = p.order.pump || '';
      $('drug').value = p.order.drug || '';
      for (const box of document.querySelectorAll('#supplies input')) box.checked = p.order.supplies.includes(box.value);
    }
    state.draft = []; state.selected = null; state.coverage = {};
    renderDraft(); $('cards').innerHTML = '';
  }

  // --- Composing orders.
  function compose() {
    const p = state.patient; if (!p) return;
    const subject = { reference: 'Patient/' + p.id };
    const requester = { reference: CFG.userId };
    const n = Date.now().toString(36);
    const draft = [];
    const pump = $('pump').value;
    if (pump) draft.push({ resourceType: 'DeviceRequest', id: 'dr-pump-' + n, status: 'draft', intent: 'original-order', codeCodeableConcept: { coding: [{ system: HCPCS, code: pump, display: PUMPS[pump] }] }, subject, requester, authoredOn: authored, note: [{ text: 'Setting: ' + $('setting').value }] });
    const drug = $('drug').value;
    if (drug) draft.push({ resourceType: 'MedicationRequest', id: 'mr-insulin-' + n, status: 'draft', intent: 'order', medicationCodeableConcept: { coding: [{ system: RXNORM, code: drug, display: DRUGS[drug] }], text: DRUGS[drug] + ' 100 UNT/ML for insulin pump' }, subject, requester, authoredOn: authored, dosageInstruction: [{ text: 'Via insulin pump (' + $('route').value + '): basal and bolus per pump settings', route: { text: $('route').value } }] });
    for (const box of document.querySelectorAll('#supplies input:checked')) draft.push({ resourceType: 'DeviceRequest', id: 'dr-supply-' + box.value.toLowerCase() + '-' + n, status: 'draft', intent: 'original-order', codeCodeableConcept: { coding: [{ system: HCPCS, code: box.value, display: SUPPLIES[box.value] }] }, subject, requester, authoredOn: authored, parameter: [{ code: { text: 'quantity (weeks)' }, valueQuantity: { value: Number($('quantity').value) || 13, unit: 'wk', system: 'http://unitsofmeasure.org', code: 'wk' } }] });
    state.draft = draft; state.selected = null; state.coverage = {};
    renderDraft(); $('cards').innerHTML = '';
    setStatus(draft.length + ' draft order(s). Click one to select it (order-select), or sign.');
  }
  const refOf = (r) => r.resourceType + '/' + r.id;
  const codeOf = (r) => { const cc = r.codeCodeableConcept || r.medicationCodeableConcept || {}; const c = (cc.coding || [])[0] || {}; return { code: c.code || '?', display: c.display || cc.text || '' }; };
  function renderDraft() {
    const ul = $('draft'); ul.innerHTML = '';
    for (const r of state.draft) {
      const li = document.createElement('li'); const c = codeOf(r); const ref = refOf(r);
      li.dataset.ref = ref; li.dataset.code = c.code;
      if (state.selected === ref) li.classList.add('selected');
      const cov = state.coverage[ref];
      li.innerHTML = (cov ? '<span class="cov ' + esc(cov) + '">' + esc(cov) + '</span>' : '') + '<span class="code">' + esc(c.code) + '</span> ' + esc(c.display) + ' <small>(' + esc(r.resourceType) + ')</small>';
      li.addEventListener('click', () => { state.selected = ref; renderDraft(); call('order-select'); });
      ul.appendChild(li);
    }
    $('sign').disabled = state.draft.length === 0;
  }

  // --- Calling the service as an EHR does.
  async function jwt(aud) {
    const res = await fetch(CFG.jwtPath, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ aud }) });
    return (await res.json()).token;
  }
  const COVERAGE_INFO = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';
  async function call(hook) {
    if (!state.patient || state.draft.length === 0) return;
    const service = 'pumpcheck-' + hook;
    const url = CFG.serviceBase + '/cds-services/' + service;
    const body = {
      hook, hookInstance: uuid(), fhirServer: CFG.fhirBase,
      fhirAuthorization: { access_token: 'sandbox-' + uuid(), token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'pumpcheck' },
      context: { userId: CFG.userId, patientId: state.patient.id, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: state.draft.map((r) => ({ resource: r })) } },
    };
    if (hook === 'order-select') body.context.selections = [state.selected];
    setStatus((hook === 'order-sign' ? 'Signing' : 'Selecting') + '… calling ' + service);
    $('cards').setAttribute('aria-busy', 'true');
    const started = performance.now();
    let res;
    try {
      res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + (await jwt(url)) }, body: JSON.stringify(body) });
    } catch (e) { setStatus('The service could not be reached.'); return; }
    const out = await res.json().catch(() => ({}));
    $('cards').removeAttribute('aria-busy');
    if (!res.ok) { setStatus('HTTP ' + res.status + ': ' + ((out.issue && out.issue[0] && out.issue[0].details && out.issue[0].details.text) || '')); return; }
    for (const a of out.systemActions || []) {
      const ext = ((a.resource && a.resource.extension) || []).find((e) => e.url === COVERAGE_INFO);
      const covered = ext && (ext.extension || []).find((e) => e.url === 'covered');
      if (covered) state.coverage[refOf(a.resource)] = covered.valueCode;
    }
    renderDraft();
    renderCards(out.cards || [], service);
    document.body.dataset.lastHook = hook;
    document.body.dataset.calls = String(Number(document.body.dataset.calls || 0) + 1);
    setStatus(hook + ': ' + (out.cards || []).length + ' card(s) in ' + Math.round(performance.now() - started) + ' ms' + (hook === 'order-sign' && (out.cards || []).length === 0 ? ' — nothing to fix, the order can be signed.' : '.'));
  }
  async function feedback(service, item) {
    const url = CFG.serviceBase + '/cds-services/' + service + '/feedback';
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + (await jwt(url)) }, body: JSON.stringify({ feedback: [{ outcomeTimestamp: new Date().toISOString(), ...item }] }) });
    document.body.dataset.feedback = String(Number(document.body.dataset.feedback || 0) + (res.ok ? 1 : 0));
    return res.ok;
  }

  // --- Cards.
  function applyActions(actions) {
    for (const a of actions || []) {
      if (a.type === 'create' && a.resource) state.draft.push(a.resource);
      else if (a.type === 'update' && a.resource) { const i = state.draft.findIndex((r) => refOf(r) === refOf(a.resource)); if (i >= 0) state.draft[i] = a.resource; else state.draft.push(a.resource); }
      else if (a.type === 'delete') { const ids = [].concat(a.resourceId || []); state.draft = state.draft.filter((r) => !ids.includes(refOf(r))); }
    }
    state.coverage = {};
    renderDraft();
  }
  async function launchSmart(link) {
    const res = await fetch(CFG.fhirBase.replace(/\\/fhir$/, '') + '/auth/launch', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ patient: state.patient.id, appContext: link.appContext }) });
    const { launch } = await res.json();
    const u = new URL(link.url);
    u.searchParams.set('launch', launch); u.searchParams.set('iss', CFG.fhirBase);
    // noopener: the form is a separate app in its own window (fhirclient would otherwise treat it as an auth popup).
    window.open(u.toString(), '_blank', 'noopener');
  }
  function renderCards(cards, service) {
    const box = $('cards'); box.innerHTML = '';
    for (const card of cards) {
      const el = document.createElement('article');
      el.className = 'card ' + card.indicator; el.dataset.uuid = card.uuid || ''; el.dataset.indicator = card.indicator;
      el.innerHTML = '<div class="head"><span class="badge">' + esc(card.indicator) + '</span><span class="summary">' + esc(card.summary) + '</span></div>' +
        '<div class="source">' + esc((card.source && card.source.label) || '') + (card.source && card.source.topic ? ' · ' + esc(card.source.topic.display || card.source.topic.code) : '') + '</div>' +
        (card.detail ? '<div class="detail">' + markdown(card.detail) + '</div>' : '');
      const actions = document.createElement('div'); actions.className = 'actions';
      for (const s of card.suggestions || []) {
        const b = document.createElement('button'); b.className = 'suggestion' + (s.isRecommended ? ' primary' : ''); b.textContent = s.label;
        b.addEventListener('click', async () => {
          applyActions(s.actions); el.classList.add('done');
          await feedback(service, { card: card.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: s.uuid }] });
          setStatus('Applied: ' + s.label + '. Sign again to re-check.');
        });
        actions.appendChild(b);
      }
      const links = document.createElement('span'); links.className = 'links';
      for (const l of card.links || []) {
        const a = document.createElement('a'); a.textContent = l.label; a.href = l.url; a.dataset.type = l.type;
        if (l.type === 'smart') a.addEventListener('click', (e) => { e.preventDefault(); launchSmart(l); });
        else { a.target = '_blank'; a.rel = 'noopener'; }
        links.appendChild(a);
      }
      actions.appendChild(links);
      el.appendChild(actions);
      if (card.uuid) {
        const o = document.createElement('div'); o.className = 'override';
        const reasons = card.overrideReasons || [];
        o.innerHTML = (reasons.length ? '<select aria-label="override reason"><option value="">Override reason…</option>' + reasons.map((r, i) => '<option value="' + i + '">' + esc(r.display || r.code) + '</option>').join('') + '</select>' : '') + '<button class="dismiss">Dismiss</button>';
        o.querySelector('.dismiss').addEventListener('click', async () => {
          const sel = o.querySelector('select'); const r = sel && sel.value !== '' ? reasons[Number(sel.value)] : undefined;
          el.classList.add('done');
          await feedback(service, { card: card.uuid, outcome: 'overridden', ...(r ? { overrideReason: { reason: r } } : {}) });
          setStatus('Dismissed' + (r ? ' (' + (r.display || r.code) + ')' : '') + '; feedback sent.');
        });
        el.appendChild(o);
      }
      box.appendChild(el);
    }
  }

  $('patient').addEventListener('change', pickPatient);
  $('compose').addEventListener('click', compose);
  $('sign').addEventListener('click', () => call('order-sign'));
  loadPatients().catch((e) => setStatus('The FHIR server could not be read: ' + e.message));
})();`;
}

const option = (value: string, label: string) => `<option value="${value}">${label}</option>`;

export function renderSandboxPage(cfg: SandboxPageConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>pumpcheck – order-entry sandbox</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>pumpcheck order-entry sandbox</h1><span>a small EHR: synthetic patients, orders dated ${cfg.today}, CDS Hooks 2.0 with signed JWTs</span></header>
<main>
<div>
<section class="panel">
  <h2>Patient</h2>
  <select id="patient" aria-label="patient"></select>
  <div id="situation" class="situation"></div>
</section>
<section class="panel" style="margin-top:1rem">
  <h2>New orders</h2>
  <label for="pump">Pump (HCPCS)</label>
  <select id="pump">${option('E0784', 'E0784 External ambulatory infusion pump, insulin')}${option('E0781', 'E0781 Ambulatory infusion pump (generic)')}${option('E0783', 'E0783 Implantable programmable pump')}${option('', '— no pump (supplies / refill only)')}</select>
  <label for="drug">Drug</label>
  <select id="drug">${option('86009', 'insulin lispro (RxNorm 86009)')}${option('51428', 'insulin aspart (RxNorm 51428)')}${option('274783', 'insulin glargine (RxNorm 274783)')}${option('', '— none')}</select>
  <label for="route">Route</label>
  <select id="route">${option('subcutaneous', 'subcutaneous infusion')}${option('intraperitoneal', 'intraperitoneal (implanted)')}</select>
  <label for="setting">Setting</label>
  <select id="setting">${option('home', 'home use')}${option('facility', 'facility')}</select>
  <label>Supplies</label>
  <div id="supplies" class="supplies"><label><input type="checkbox" value="A4224"> A4224</label><label><input type="checkbox" value="A4225"> A4225</label><label><input type="checkbox" value="A4230"> A4230</label></div>
  <label for="quantity">Supply quantity (weeks)</label>
  <input id="quantity" type="number" min="1" max="52" value="13">
  <div class="row"><button id="compose" class="primary">Add to draft</button></div>
</section>
<section class="panel" style="margin-top:1rem">
  <h2>Draft orders</h2>
  <ul id="draft"></ul>
  <div class="row"><button id="sign" class="sign" disabled>Sign orders</button></div>
  <div id="status" role="status"></div>
</section>
</div>
<section class="panel"><h2>Decision support</h2><div id="cards" aria-live="polite"></div></section>
</main>
<script>${clientScript(cfg)}</script>
</body>
</html>`;
}
