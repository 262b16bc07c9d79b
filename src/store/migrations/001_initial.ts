// Initial schema. Criterion and uuid lists are text[] (not JSON) so analytics can unnest them in SQL on both engines.
import { sql, type Kysely, type Migration } from 'kysely';

export const migration001Initial: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('assertions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('service_id', 'text', (c) => c.notNull())
      .addColumn('hook', 'text', (c) => c.notNull())
      .addColumn('hook_instance', 'text', (c) => c.notNull())
      .addColumn('order_ref', 'text', (c) => c.notNull())
      .addColumn('pump_code', 'text')
      .addColumn('policy_id', 'text')
      .addColumn('policy_version', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('unmet_criteria', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('undocumented_criteria', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('patient_hash', 'text', (c) => c.notNull())
      .addColumn('stored_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex('assertions_created_at_idx').on('assertions').column('created_at').execute();
    await db.schema
      .createIndex('assertions_policy_created_idx')
      .on('assertions')
      .columns(['policy_id', 'created_at'])
      .execute();
    await db.schema.createIndex('assertions_patient_hash_idx').on('assertions').column('patient_hash').execute();

    await db.schema
      .createTable('assertion_cards')
      .addColumn('assertion_id', 'text', (c) => c.notNull().references('assertions.id').onDelete('cascade'))
      .addColumn('card_uuid', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('indicator', 'text', (c) => c.notNull())
      .addColumn('criteria', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('suggestion_uuids', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addPrimaryKeyConstraint('assertion_cards_pk', ['assertion_id', 'card_uuid'])
      .execute();
    await db.schema.createIndex('assertion_cards_card_uuid_idx').on('assertion_cards').column('card_uuid').execute();

    await db.schema
      .createTable('feedback')
      .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
      .addColumn('card_uuid', 'text', (c) => c.notNull())
      .addColumn('service_id', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('accepted', 'overridden')`))
      .addColumn('accepted_suggestions', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('override_system', 'text')
      .addColumn('override_code', 'text')
      .addColumn('override_display', 'text')
      .addColumn('user_comment', 'text')
      .addColumn('outcome_timestamp', 'timestamptz', (c) => c.notNull())
      .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      // Duplicate deliveries (same card, outcome, timestamp) are stored once: INSERT ... ON CONFLICT DO NOTHING.
      .addUniqueConstraint('feedback_delivery_uq', ['card_uuid', 'outcome', 'outcome_timestamp'])
      .execute();
    await db.schema.createIndex('feedback_received_at_idx').on('feedback').column('received_at').execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('feedback').ifExists().execute();
    await db.schema.dropTable('assertion_cards').ifExists().execute();
    await db.schema.dropTable('assertions').ifExists().execute();
  },
};
