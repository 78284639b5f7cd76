// eslint for the browser code in static/ (`make lint`). The vendored bundles
// are npm's, not ours.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["static/vendor/**", "node_modules/**"] },
  {
    files: ["static/**/*.js"],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-undef": "error",
      eqeqeq: ["error", "always"],
      "prefer-const": "error",
    },
  },
  {
    // The embed script is a classic script on host sites (document.currentScript is null in modules).
    files: ["static/widget/embed.js"],
    languageOptions: { sourceType: "script" },
  },
];
