// The order-entry sandbox end to end in headless Debian Chromium: the page, the real service over HTTP with signed
// ES384 JWTs, the browser-usable FHIR server, the SMART documentation form and the store. Each step's screenshot is
// checked: the card area must be neither empty nor unstyled (the indicator colour must be painted).
import { mkdir, writeFile } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEEDS_DOCUMENTATION_ID } from '../sandbox/seed.js';
import { startSandbox, type Sandbox } from '../sandbox/server.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const Image: any;

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Set PUMPCHECK_SCREENSHOTS=docs/img to refresh the README's walk-through pictures from this test. */
const SHOT_DIR = process.env.PUMPCHECK_SCREENSHOTS;

/** Pixel census of a PNG (decoded by the browser): how many pixels are near each colour, and how many are not white. */
async function census(page: Page, png: Buffer, colours: Record<string, [number, number, number]>): Promise<Record<string, number>> {
  return page.evaluate(
    async ({ b64, colours }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, img.width, img.height).data;
      const out: Record<string, number> = { nonWhite: 0 };
      for (const k of Object.keys(colours)) out[k] = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245) out.nonWhite!++;
        for (const [k, [r, g, b]] of Object.entries(colours) as [string, number[]][]) {
          if (Math.abs(data[i] - r!) < 20 && Math.abs(data[i + 1] - g!) < 20 && Math.abs(data[i + 2] - b!) < 20) out[k]!++;
        }
      }
      return out;
    },
    { b64: png.toString('base64'), colours },
  );
}

async function shot(page: Page, selector: string, name: string): Promise<Buffer> {
  const png = await page.locator(selector).screenshot({ type: 'png', caret: 'initial' });
  // Only the walk-through steps (named sandbox-N-…) go to the README's pictures.
  if (SHOT_DIR && /^sandbox-\d-/.test(name)) {
    await mkdir(SHOT_DIR, { recursive: true });
    await writeFile(`${SHOT_DIR}/${name}.png`, await page.screenshot({ type: 'png', caret: 'initial', fullPage: true }));
  }
  return png;
}

const WARNING_BORDER: [number, number, number] = [0xf0, 0xb4, 0x29];
const WARNING_BADGE: [number, number, number] = [0xde, 0x91, 0x1d];

/** The card area holds styled cards: a real picture, with the warning indicator painted. */
async function expectWarningCardsPainted(page: Page, name: string): Promise<void> {
  const png = await shot(page, '#cards', name);
  const c = await census(page, png, { border: WARNING_BORDER, badge: WARNING_BADGE });
  expect(c.nonWhite, `${name}: card area looks empty`).toBeGreaterThan(2_000);
  expect(c.border! + c.badge!, `${name}: warning indicator not painted (unstyled?)`).toBeGreaterThan(300);
}

describe('order-entry sandbox in headless Chromium', () => {
  let sandbox: Sandbox;
  let browser: Browser;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, fhirPort: 0, quiet: true });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
  });

  async function openFor(patientId: string): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1360, height: 1100 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${sandbox.url}/`);
    await page.waitForSelector(`#patient option[value="${patientId}"]`, { state: 'attached' });
    await page.selectOption('#patient', patientId);
    await page.click('#compose');
    await page.waitForSelector('#draft li');
    return { page, problems };
  }

  async function sign(page: Page): Promise<void> {
    const before = Number((await page.getAttribute('body', 'data-calls')) ?? 0);
    await page.click('#sign');
    await page.waitForFunction((n) => Number(document.body.dataset.calls ?? 0) > n && document.body.dataset.lastHook === 'order-sign', before, { timeout: 60_000 });
  }

  const coverageOf = (page: Page, code: string) => page.textContent(`#draft li[data-code="${code}"] .cov`);

  it('signs a conditional order, fills the documentation form from the card, signs again: covered', async () => {
    const { page, problems } = await openFor(NEEDS_DOCUMENTATION_ID);
    expect(await page.$$eval('#draft li', (lis) => lis.map((li: any) => li.dataset.code))).toEqual(['E0784', '86009', 'A4224']);

    // Selecting the pump: order-select, a quiet info card.
    await page.click('#draft li[data-code="E0784"]');
    await page.waitForFunction(() => document.body.dataset.lastHook === 'order-select', undefined, { timeout: 60_000 });
    expect(await page.$$eval('#cards .card', (cs) => cs.map((c: any) => c.dataset.indicator))).not.toContain('warning');
    expect(await page.locator('#cards .card').count()).toBeGreaterThan(0);

    await sign(page);
    expect(await coverageOf(page, 'E0784')).toBe('conditional');
    await page.waitForSelector('#cards .card.warning .detail');
    await expectWarningCardsPainted(page, 'sandbox-1-conditional');
    expect(await page.locator('#cards .card .override select option').count()).toBeGreaterThan(1);

    // The SMART link of the card launches the form app (EHR launch with launch + iss) in a new window.
    const smart = page.locator('#cards a[data-type="smart"]').first();
    expect(await smart.count()).toBe(1);
    const [form] = await Promise.all([page.context().waitForEvent('page'), smart.click()]);
    await form.waitForURL(/\/forms\/csii-documentation\?smart=1/, { timeout: 30_000 });
    await form.waitForSelector('#save:not([disabled])', { timeout: 30_000 });
    expect(await form.textContent('#context')).toContain('Needs-Documentation');
    for (const [linkId, value] of [
      ['education-completed', 'true'],
      ['mdi-self-adjustment', 'true'],
      ['pump-before-medicare', 'false'],
      ['practitioner-csii-team', 'true'],
    ]) {
      await form.check(`input[name="${linkId}"][value="${value}"]`);
    }
    // enableWhen: the education date appears once education is answered yes.
    expect(await form.isVisible('[data-link-id="education-date"]')).toBe(true);
    expect(await form.isVisible('[data-link-id="pump-start-date"]')).toBe(false);
    const formPng = await shot(form, 'main', 'sandbox-2-form');
    const formPixels = await census(form, formPng, { heading: [0x1f, 0x4e, 0x79] });
    expect(formPixels.nonWhite).toBeGreaterThan(2_000);
    await form.click('#save');
    await form.waitForFunction(() => document.body.dataset.saved, undefined, { timeout: 30_000 });
    const savedId = await form.getAttribute('body', 'data-saved');

    // The response is on the EHR's FHIR server, pointing at the canonical url.
    const qrs = await sandbox.fhir.search('QuestionnaireResponse', { patient: NEEDS_DOCUMENTATION_ID });
    const saved = qrs.find((r) => r.id === savedId) as any;
    expect(saved).toMatchObject({
      status: 'completed',
      questionnaire: 'http://pumpcheck.example.org/fhir/Questionnaire/csii-documentation|1.0.0',
      subject: { reference: `Patient/${NEEDS_DOCUMENTATION_ID}` },
    });
    expect(JSON.stringify(saved.item)).toContain('practitioner-csii-team');

    // Reopening the form shows the answers as answered (never asked again as blank).
    await form.reload();
    await form.waitForSelector('#save:not([disabled])', { timeout: 30_000 });
    expect(await form.isChecked('input[name="practitioner-csii-team"][value="true"]')).toBe(true);
    expect(await form.textContent('[data-link-id="practitioner-csii-team"] .source')).toMatch(/Answered on \d{4}-\d{2}-\d{2}/);
    await form.close();

    await sign(page);
    expect(await coverageOf(page, 'E0784')).toBe('covered');
    expect(await page.locator('#cards .card.warning').count()).toBe(0);
    await shot(page, 'main', 'sandbox-3-covered');
    expect(problems).toEqual([]);
    await page.context().close();
  }, 180_000);

  it('applies an accepted suggestion to the draft and sends feedback that lands in the store', async () => {
    const { page, problems } = await openFor('pt-wrong-pump-code');
    expect(await page.$$eval('#draft li', (lis) => lis.map((li: any) => li.dataset.code))).toContain('E0781');
    await sign(page);
    await page.waitForSelector('#cards .card.warning');
    await expectWarningCardsPainted(page, 'sandbox-suggestion');

    const suggestion = page.locator('#cards button.suggestion').filter({ hasText: /E0784/ }).first();
    expect(await suggestion.count()).toBe(1);
    await suggestion.click();
    await page.waitForFunction(() => Number(document.body.dataset.feedback ?? 0) >= 1);
    const codes = await page.$$eval('#draft li', (lis) => lis.map((li: any) => li.dataset.code));
    expect(codes).toContain('E0784');
    expect(codes).not.toContain('E0781');

    // Dismiss the policy reference card (no reason list: it is not a finding).
    await page.locator('#cards .card:not(.done) button.dismiss').first().click();
    await page.waitForFunction(() => Number(document.body.dataset.feedback ?? 0) >= 2);

    // Both responses are in the store, against their assertion: the finding accepted, the reference card dismissed.
    await sandbox.store.assertionSink.flush();
    const report = await sandbox.store.overrideAnalytics();
    expect(report.rows.reduce((n, r) => n + r.accepted, 0)).toBeGreaterThanOrEqual(1);
    expect(report.sharedCards.find((x) => x.kind === 'reference')?.dismissed).toBeGreaterThanOrEqual(1);

    // The corrected draft signs clean.
    await sign(page);
    expect(await coverageOf(page, 'E0784')).toBe('covered');
    expect(problems).toEqual([]);
    await page.context().close();
  }, 180_000);
});
