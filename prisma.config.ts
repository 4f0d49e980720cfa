import { defineConfig } from 'prisma/config';

// The CLI is used only for `prisma generate` (and, where Prisma's schema engine can be
// downloaded, `migrate status/deploy`). The app applies migrations itself at start-up.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env['DATABASE_URL'] ?? 'postgresql://localhost:5432/bardcast' },
});
