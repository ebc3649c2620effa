// Configuration for the Prisma CLI (`prisma generate`, and `prisma migrate deploy` where the
// Prisma engine can be downloaded). Latchkey itself migrates with src/db/migrate.ts.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/latchkey' },
});
