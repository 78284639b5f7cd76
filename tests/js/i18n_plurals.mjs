// Every count in the catalogues in ICU plural form formats in its own language: the
// form the language's rules pick exists for 0..1000, "#" and the placeholders filled.
// Usage: node i18n_plurals.mjs CATALOGUE_DIR; prints JSON {checked, problems}.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { formatMessage } from "../../static/i18n/i18n.js";

const dir = process.argv[2];
const problems = [];
let checked = 0;
for (const file of readdirSync(dir).filter((name) => name.endsWith(".json"))) {
  const lang = file.slice(0, -5);
  const rules = new Intl.PluralRules(lang);
  const categories = new Set(rules.resolvedOptions().pluralCategories);
  const table = JSON.parse(readFileSync(join(dir, file), "utf8"));
  for (const [key, text] of Object.entries(table)) {
    const heads = [...text.matchAll(/\{(\w+),\s*plural,/g)];
    if (!heads.length) continue;
    checked += 1;
    for (const head of heads) {
      // The forms named in this plural (a form's text holds no plural of its own).
      const named = [...text.slice(head.index).matchAll(/(=\d+|zero|one|two|few|many|other)\s*\{/g)].map((m) => m[1]);
      for (const form of named) {
        if (!form.startsWith("=") && !categories.has(form)) problems.push(`${file} ${key}: ${lang} has no "${form}" form`);
      }
      if (!named.includes("other")) problems.push(`${file} ${key}: no "other" form`);
      for (let n = 0; n <= 1000; n += 1) {
        const category = rules.select(n);
        if (!named.includes(category) && !named.includes(`=${n}`)) {
          problems.push(`${file} ${key}: no "${category}" form (for ${n})`);
          break;
        }
      }
    }
    const params = Object.fromEntries([...text.matchAll(/\{(\w+)[,}]/g)].map((m) => [m[1], 2]));
    for (const n of [0, 1, 2, 3, 5, 11, 21, 22, 101]) {
      for (const name of Object.keys(params)) params[name] = n;
      const out = formatMessage(text, params, lang);
      if (/[{}#]/.test(out)) problems.push(`${file} ${key}: "${out}" for ${n}`);
    }
  }
}
console.log(JSON.stringify({ checked, problems }));
