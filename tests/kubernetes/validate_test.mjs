// SPDX-License-Identifier: MIT
// The manifest validator (validate.mjs) accepts kubernetes/ and rejects each file in broken/,
// naming the file, the object and the field its first line expects ("# expect: <text>"), and
// nothing else; its command line exits 0 and 1 accordingly.
//
//   node validate_test.mjs        exit 0 when every case passes (77: node_modules missing)
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, "node_modules", "kubernetes-models"))) {
  console.log("skipped: no node_modules here; run (cd tests/kubernetes && npm ci)");
  process.exit(77);
}
const { validate } = await import("./validate.mjs");
const shippedDir = join(here, "..", "..", "kubernetes");
const brokenDir = join(here, "broken");

let passed = 0;
let failed = 0;
function check(name, ok, output) {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
  if (ok) {
    passed += 1;
  } else {
    console.log(output.replace(/^/gm, "     | "));
    failed += 1;
  }
}

const shipped = validate([shippedDir]);
check("kubernetes/ is valid", shipped.status === 0, shipped.lines.join("\n"));

const broken = readdirSync(brokenDir).filter((f) => f.endsWith(".yaml")).sort();
for (const file of broken) {
  const path = join(brokenDir, file);
  const expected = /^# expect: (.*)$/m.exec(readFileSync(path, "utf8"))?.[1];
  const result = validate([path]);
  check(`broken/${file} is rejected: ${expected}`,
        expected !== undefined && result.status === 1 &&
            result.lines.includes(`FAIL ${file}, document 1: ${expected}`) &&
            result.lines.includes("1 problem(s) in 1 file(s)"),
        result.lines.join("\n"));
}

// The command line: exit status 0, 1, and 64 for a path that does not exist.
for (const [args, status] of [[[shippedDir], 0], [[join(brokenDir, broken[0])], 1],
                              [[join(here, "no-such-folder")], 64]]) {
  const run = spawnSync(process.execPath, [join(here, "validate.mjs"), ...args],
                        { encoding: "utf8" });
  check(`node validate.mjs ${relative(join(here, "..", ".."), args[0])} exits ${status}`,
        run.status === status, run.stdout + run.stderr);
}

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
