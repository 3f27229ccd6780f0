// SPDX-License-Identifier: MIT
// Fields a manifest has that the Kubernetes API does not declare, as the API server's strict
// field validation (kubectl's default since 1.27) reports them: a misspelt `readinesProbe` would
// otherwise pass the JSON Schemas, which allow any extra property, and leave the pod without a
// readiness probe.
//
// The declared fields are read from the type declarations (.d.ts) that kubernetes-models ships
// beside each compiled schema: one `export interface` per API type, one `"field"?: Type;` line per
// field, and an import naming the file of each type used. Maps (`{ [key: string]: T }`), arrays
// (`Array<T>`) and aliases of scalars (IntOrString, Quantity, Time) are followed or treated as
// values; a type whose declaration cannot be read is not checked (never reported).
//
// unknownFields(modelFile, document) -> ["/spec/template/spec/containers/0/readinesProbe is not a
// field of Container", ...]. Pure functions over files read once each; synchronous.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const cache = new Map();  // .d.ts path -> { name, fields: Map(field -> type text), imports }

function declarationOf(jsPath) {
  return jsPath.replace(/\.(c|m)?js$/, ".d.ts");
}

// The interface declared in `file`, or null when it declares none (an alias of a scalar).
function readType(file) {
  if (cache.has(file)) return cache.get(file);
  let type = null;
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8");
    const imports = new Map();
    for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
      imports.set(m[1], m[2]);
    }
    // A map's type spans lines ("{\n [key: string]: T;\n }"): one line, as the others.
    const flat = text.replace(/\{\s*\[key: string\]: ([^;]+);\s*\}/g, "{ [key: string]: $1 }");
    const body = /^export interface I(\w+)(?: extends [\w, ]+)? \{\n([\s\S]*?)^\}/m.exec(flat);
    if (body) {
      const fields = new Map();
      for (const m of body[2].matchAll(/^ {4}"([^"]+)"\??: (.+);$/gm)) fields.set(m[1], m[2]);
      type = { name: body[1], file, fields, imports };
    }
  }
  cache.set(file, type);
  return type;
}

// The declaration file of type `typeName` imported by `owner`, or null.
function importedFile(owner, typeName) {
  const spec = owner.imports.get(typeName);
  if (!spec) return null;
  if (spec.startsWith(".")) return join(dirname(owner.file), `${spec}.d.ts`);
  try {
    return declarationOf(createRequire(owner.file).resolve(spec));
  } catch {
    return null;
  }
}

// Walks `value` (of type text `typeText`, used in `owner`), collecting undeclared fields.
function walkType(owner, typeText, value, path, problems) {
  const array = /^Array<(.+)>$/.exec(typeText);
  if (array) {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walkType(owner, array[1], item, `${path}/${i}`, problems));
    }
    return;
  }
  const map = /^\{\s*\[key: string\]: (.+?);?\s*\}$/.exec(typeText);
  if (map) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, item] of Object.entries(value)) {
        walkType(owner, map[1], item, `${path}/${segment(key)}`, problems);
      }
    }
    return;
  }
  if (!/^I\w+$/.test(typeText)) return;  // a scalar, a union of literals, any
  const file = importedFile(owner, typeText);
  const type = file && readType(file);
  if (type) walkObject(type, value, path, problems);
}

// A key as a JSON Pointer segment, as Ajv writes paths ("app.kubernetes.io~1name").
function segment(key) {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function walkObject(type, value, path, problems) {
  if (!value || typeof value !== "object" || Array.isArray(value) || type.fields.size === 0) {
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const fieldType = type.fields.get(key);
    if (fieldType === undefined) {
      problems.push(`${path}/${segment(key)} is not a field of ${type.name}`);
    } else {
      walkType(type, fieldType, item, `${path}/${segment(key)}`, problems);
    }
  }
}

/// The undeclared fields of `document`, whose model class is compiled in `modelJsFile`.
export function unknownFields(modelJsFile, document) {
  const type = readType(declarationOf(modelJsFile));
  const problems = [];
  if (type) walkObject(type, document, "", problems);
  return problems;
}
