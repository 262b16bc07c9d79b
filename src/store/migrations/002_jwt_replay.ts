// jti values seen by any worker or replica, so a client JWT cannot be replayed against another process of the
// service within its lifetime. Rows are hashes of issuer + jti (no token content) and are purged once expired.
import type { Kysely, Migration } from 'kysely';

export const migration002JwtReplay: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('jwt_replay')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('forget_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('jwt_replay_forget_at_idx').on('jwt_replay').column('forget_at').execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('jwt_replay').execute();
  },
};
