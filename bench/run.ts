// `npm run bench`: runs every benchmark under bench/ in turn, each in its own
// process, and prints their tables. Results are recorded in bench/RESULTS.md.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .sort();
let failed = 0;
for (const file of benches) {
  process.stdout.write(`\n=== bench/${file}\n`);
  const res = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', path.join(dir, file), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  if (res.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
