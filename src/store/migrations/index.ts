// Versioned migrations, defined in code (no directory scanning: works from src/ under tsx and from dist/).
// Append new migrations with the next number; never edit one that has shipped.
import type { Migration, MigrationProvider } from 'kysely';
import { migration001Initial } from './001_initial.js';
import { migration002JwtReplay } from './002_jwt_replay.js';

export const migrations: Record<string, Migration> = {
  '001_initial': migration001Initial,
  '002_jwt_replay': migration002JwtReplay,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
