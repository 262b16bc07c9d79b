// Regenerates the Medicare external-pump policy test cases (policies/tests/<policy>/*.json, issue 9) from cases.mjs:
//   node scripts/medicare-external-cases/run.mjs
// The committed JSON is what test/policy-cases.test.ts reads; edit cases.mjs and rerun, or edit the JSON by hand.
import fs from 'node:fs';
import { ROOT } from './lib.mjs';

const dirs = ['medicare-external-general', 'medicare-ind1-deferoxamine', 'medicare-ind2-liver-colorectal-chemo', 'medicare-ind3-morphine-cancer-pain', 'medicare-v-a-anticancer-continuous', 'medicare-v-b-narcotic-cancer-pain', 'medicare-v-c-antiviral-antifungal', 'medicare-v-d-inotropes', 'medicare-v-e-pah-prostacyclin', 'medicare-v-f-gallium-nitrate', 'medicare-v-g-ziconotide', 'medicare-v-h-scig', 'medicare-v-i-parkinsons', 'medicare-v-j-blinatumomab', 'medicare-excl-disposable-pumps', 'medicare-excl-heparin-home', 'medicare-excl-infusion-controller', 'medicare-excl-vancomycin', 'medicare-external-coding-edits', 'medicare-external-supplies'];
for (const d of dirs) fs.rmSync(`${ROOT}/${d}`, { recursive: true, force: true });
await import('./cases.mjs');
