// Validates every object of the given multi-document YAML files (or JSON v1 Lists) against the
// Kubernetes OpenAPI schemas shipped in kubernetes-models (offline). Prints one line per invalid
// object and exits 1 if any is invalid; 2 on unusable input.
"use strict";
const fs = require("fs");
const YAML = require("yaml");

function modelFor(apiVersion, kind) {
  // "v1", "apps/v1"; istio's CRDs ("networking.istio.io/v1alpha3") come from @kubernetes-models/istio
  const pkg = apiVersion.endsWith(".istio.io/" + apiVersion.split("/")[1]) ? "@kubernetes-models/istio" : "kubernetes-models";
  let mod;
  try {
    mod = require(`${pkg}/${apiVersion}/${kind}`);
  } catch (e) {
    return null;
  }
  return mod[kind] || mod.default || null;
}

let bad = 0, total = 0;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.js FILE...");
  process.exit(2);
}
for (const file of files) {
  const text = fs.readFileSync(file, "utf8");
  let objects = [];
  for (const doc of YAML.parseAllDocuments(text)) {
    if (doc.errors.length) {
      console.error(`${file}: YAML error: ${doc.errors[0].message}`);
      process.exit(2);
    }
    const v = doc.toJS();
    if (v == null) continue;
    if (v.kind === "List" && Array.isArray(v.items)) objects.push(...v.items);
    else objects.push(v);
  }
  for (const obj of objects) {
    total++;
    const id = `${file}: ${obj.kind}/${obj.metadata && obj.metadata.name}`;
    const Model = modelFor(obj.apiVersion, obj.kind);
    if (!Model) {
      console.log(`${id}: no schema for ${obj.apiVersion} ${obj.kind}`);
      bad++;
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      bad++;
      const errs = (e.errors || [{ message: e.message }]).map((x) => `${x.instancePath || x.dataPath || ""} ${x.message}`);
      console.log(`${id}: INVALID\n  ${errs.join("\n  ")}`);
    }
  }
}
console.log(`schema: ${total - bad} of ${total} objects valid`);
process.exit(bad ? 1 : 0);
