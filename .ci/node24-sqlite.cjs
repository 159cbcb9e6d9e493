// Preloaded (NODE_OPTIONS=--require) by .ci/node24: better-sqlite3's addon in node_modules is
// built for the Node that ran `npm ci`; under Node 24 it loads the copy .ci/node24 built
// against Node 24's own headers instead (NODE24_SQLITE_ADDON: not an LLMPOOL_ name, which tests strip from
// the environment of the CLIs they start). Nothing else changes.
const Module = require("node:module");
const addon = process.env.NODE24_SQLITE_ADDON;
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (addon && request === "bindings" && parent && parent.filename.includes("better-sqlite3")) return () => require(addon);
  return load.call(this, request, parent, isMain);
};
