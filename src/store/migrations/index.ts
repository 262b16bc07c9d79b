// Versioned migrations, defined in code (no directory scanning: works from src/ under tsx and from dist/).
// Append new migrations with the next number; never edit one that has shipped.
import type { Migration, MigrationProvider } from 'kysely';
import { migration001Initial } from './001_initial.js';
import { migration002JwtReplay } from './002_jwt_replay.js';
import { migration003AnalyticsContext } from './003_analytics_context.js';

export const migrations: Record<string, Migration> = {
  '001_initial': migration001Initial,
  '002_jwt_replay': migration002JwtReplay,
  '003_analytics_context': migration003AnalyticsContext,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
