// SPDX-License-Identifier: MIT
// Validates Kubernetes manifests against the API schemas of the Kubernetes release that the
// kubernetes-models package was generated from (its JSON Schemas, compiled with Ajv).
//
//   node validate.mjs PATH...     PATH: a .yaml, .yml or .json file, or a folder of them
//   import { validate } from "./validate.mjs"; validate([PATH...]) -> { status, lines }
//
// Every YAML document of every file must be an object with apiVersion, kind and metadata.name
// whose kind the package knows, and must satisfy its schema. Prints one line per object
// ("ok   deployment.yaml: Deployment/lifetime-demo (apps/v1)") and, for each problem, the file,
// the document, the object and the field:
//   FAIL broken.yaml, document 1: Deployment/lifetime-demo: /spec/replicas must be integer
// Exit status: 0 all valid, 1 a problem found, 64 bad usage.
// A field the API does not declare is a problem too ("... is not a field of Container"), as with
// the API server's strict field validation (fields.mjs). Not checked: rules that only the API
// server's code enforces (for example that the selector matches the template's labels).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { parseAllDocuments } from "yaml";
import { unknownFields } from "./fields.mjs";

const require = createRequire(import.meta.url);

// ("apps/v1", "Deployment") -> the path of kubernetes-models' module of that kind, or null.
function modelFile(apiVersion, kind) {
  if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    return null;
  }
  try {
    return require.resolve(`kubernetes-models/${apiVersion}/${kind}`);
  } catch {
    return null;
  }
}

function describe(doc) {
  const kind = typeof doc?.kind === "string" ? doc.kind : "(no kind)";
  const name = typeof doc?.metadata?.name === "string" ? doc.metadata.name : "(no name)";
  return `${kind}/${name}`;
}

// The problems of one parsed document, as strings naming the field.
function problemsOf(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return ["not an object"];
  }
  const problems = [];
  for (const field of ["apiVersion", "kind"]) {
    if (typeof doc[field] !== "string" || doc[field] === "") problems.push(`/${field} is missing`);
  }
  if (typeof doc.metadata?.name !== "string" || doc.metadata.name === "") {
    problems.push("/metadata/name is missing");
  }
  if (problems.length) return problems;
  const file = modelFile(doc.apiVersion, doc.kind);
  const Model = file && require(file)[doc.kind];
  if (typeof Model !== "function" || Model.kind !== doc.kind) {
    const known = "(Kubernetes API schemas of kubernetes-models)";
    return [`/kind: no ${doc.kind} in ${doc.apiVersion} ${known}`];
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    for (const error of e.errors) {
      const where = error.instancePath || "/";
      const extra =
        error.keyword === "enum" ? ` (${error.params.allowedValues.join(", ")})` : "";
      problems.push(`${where} ${error.message}${extra}`);
    }
  }
  return problems.concat(unknownFields(file, doc));
}

// Checks one file, appending its lines to `out`; returns the number of problems found.
function checkFile(path, out) {
  const file = basename(path);
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    out.push(`FAIL ${file}: cannot read: ${e.message}`);
    return 1;
  }
  let failed = 0;
  let index = 0;
  for (const doc of parseAllDocuments(text)) {
    index += 1;
    if (doc.errors.length) {
      for (const error of doc.errors) {
        out.push(`FAIL ${file}, document ${index}: YAML: ${error.message.split("\n")[0]}`);
      }
      failed += doc.errors.length;
      continue;
    }
    const value = doc.toJS();
    if (value === null || value === undefined) continue;  // an empty document ("---" at the end)
    const problems = problemsOf(value);
    for (const problem of problems) {
      out.push(`FAIL ${file}, document ${index}: ${describe(value)}: ${problem}`);
    }
    if (!problems.length) out.push(`ok   ${file}: ${describe(value)} (${value.apiVersion})`);
    failed += problems.length;
  }
  if (index === 0) {
    out.push(`FAIL ${file}: no YAML document`);
    failed += 1;
  }
  return failed;
}

function manifestFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => /\.(ya?ml|json)$/.test(name))
    .sort()
    .map((name) => join(path, name));
}

/// Validates the manifests at `paths` (files or folders): { status: 0 | 1, lines: [...] }, the
/// lines as the command prints them. Throws if a path does not exist.
export function validate(paths) {
  const lines = [];
  let failed = 0;
  let files = 0;
  for (const path of paths.flatMap(manifestFiles)) {
    failed += checkFile(path, lines);
    files += 1;
  }
  if (files === 0) {
    lines.push("FAIL no manifest (.yaml, .yml, .json) found");
    return { status: 1, lines };
  }
  lines.push(failed ? `${failed} problem(s) in ${files} file(s)` : `${files} file(s) valid`);
  return { status: failed ? 1 : 0, lines };
}

function main(args) {
  if (!args.length || args.includes("--help")) {
    console.error("usage: node validate.mjs PATH...  (a manifest file or a folder of them)");
    return 64;
  }
  let result;
  try {
    result = validate(args);
  } catch (e) {
    console.error(`validate: ${e.message}`);
    return 64;
  }
  console.log(result.lines.join("\n"));
  return result.status;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
