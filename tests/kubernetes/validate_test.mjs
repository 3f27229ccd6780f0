// SPDX-License-Identifier: MIT
// The manifest validator (validate.mjs) accepts kubernetes/ and rejects each file in broken/,
// naming the file, the object and the field its first line expects ("# expect: <text>"), and
// nothing else.
//
//   node validate_test.mjs        exit 0 when every case passes
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const validator = join(here, "validate.mjs");
if (!existsSync(join(here, "node_modules", "kubernetes-models"))) {
  console.log("skipped: no node_modules here; run (cd tests/kubernetes && npm ci)");
  process.exit(77);
}

function validate(path) {
  const run = spawnSync(process.execPath, [validator, path], { encoding: "utf8" });
  return { status: run.status, output: run.stdout + run.stderr };
}

let failed = 0;
function check(name, ok, output) {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
  if (!ok) {
    console.log(output.replace(/^/gm, "     | "));
    failed += 1;
  }
}

const shipped = validate(join(here, "..", "..", "kubernetes"));
check("kubernetes/ is valid", shipped.status === 0, shipped.output);

const broken = readdirSync(join(here, "broken")).filter((f) => f.endsWith(".yaml")).sort();
for (const file of broken) {
  const path = join(here, "broken", file);
  const expected = /^# expect: (.*)$/m.exec(readFileSync(path, "utf8"))?.[1];
  const run = validate(path);
  const line = `FAIL ${file}, document 1: ${expected}`;
  check(`broken/${file} is rejected: ${expected}`,
        expected !== undefined && run.status === 1 && run.output.includes(line) &&
            run.output.includes("1 problem(s) in 1 file(s)"), run.output);
}

console.log(`${broken.length + 1 - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
