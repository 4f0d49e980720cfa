/**
 * The oldest Node.js Bardcast runs on: what `@discordjs/voice` 0.19 and
 * discord.js's own packages declare (`engines` in package.json says the same).
 */
export const REQUIRED_NODE = '22.12.0';

/** Compares dotted versions numerically (`22.9.0` < `22.12.0`). */
function atLeast(version: string, required: string): boolean {
  const have = version.split('.').map(Number);
  const need = required.split('.').map(Number);
  for (let i = 0; i < need.length; i += 1) {
    const a = have[i] ?? 0;
    const b = need[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** One line saying what is wrong with `version`, or undefined when it is new enough. */
export function nodeVersionProblem(version: string = process.versions.node): string | undefined {
  if (atLeast(version, REQUIRED_NODE)) return undefined;
  return `Bardcast needs Node.js ${REQUIRED_NODE} or newer; this is Node.js ${version} (scripts/node.sh installs one from npm).`;
}
