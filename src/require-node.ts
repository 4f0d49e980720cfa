/**
 * Imported first by the entry point: stops on an old Node.js with one line,
 * before any module that needs a newer one is evaluated.
 */
import { nodeVersionProblem } from './node-version';

const problem = nodeVersionProblem();
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
