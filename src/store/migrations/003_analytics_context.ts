// Analytics context: which kind of card a row is (an order's own finding, or a shared reference / SMART-app card whose
// dismissal is still feedback about the assertion), and who and where ordered — the practitioner only as a keyed
// hash, the site as an Organization reference. Existing rows are findings with no practitioner or site.
import { sql, type Kysely, type Migration } from 'kysely';

export const migration003AnalyticsContext: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .alterTable('assertion_cards')
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('finding').check(sql`kind in ('finding', 'reference', 'smart')`))
      .execute();
    await db.schema.alterTable('assertions').addColumn('practitioner_hash', 'text').execute();
    await db.schema.alterTable('assertions').addColumn('site', 'text').execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('assertions').dropColumn('site').execute();
    await db.schema.alterTable('assertions').dropColumn('practitioner_hash').execute();
    await db.schema.alterTable('assertion_cards').dropColumn('kind').execute();
  },
};
