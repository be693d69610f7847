// A tiny check runner for the end-to-end test: named checks, "ok"/"FAIL"/"PENDING" lines,
// and a closing "e2e: N passed, N failed, N skipped" line.

/** Counts so far. */
export const results = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

/** Runs one named check; a thrown Pending counts as skipped (failed under GNOMON_UI_REQUIRE_ALL=1). */
export async function check(name, fn) {
  const began = Date.now();
  try {
    const note = await fn();
    results.passed++;
    console.log(`ok   ${name} (${Date.now() - began} ms)${note ? ` — ${note}` : ''}`);
  } catch (e) {
    if (e instanceof Pending) {
      if (REQUIRE_ALL) {
        results.failed++;
        failures.push(name);
        console.log(`FAIL ${name}: ${e.message} (GNOMON_UI_REQUIRE_ALL=1)`);
      } else {
        results.skipped++;
        console.log(`PENDING ${name}: ${e.message}`);
      }
      return;
    }
    results.failed++;
    failures.push(name);
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

/** A check that cannot run on this binary yet (an endpoint another branch adds). */
export class Pending extends Error {}

/** Throws `msg` unless `cond`. */
export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const REQUIRE_ALL = process.env.GNOMON_UI_REQUIRE_ALL === '1';

/** Polls `fn` every 200 ms until it returns something truthy; throws after `timeoutMs`. */
export async function until(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** Prints the closing line and returns the exit status. */
export function summary() {
  if (failures.length) console.log(`failed checks:\n  ${failures.join('\n  ')}`);
  console.log(`e2e: ${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
  return results.failed ? 1 : 0;
}
