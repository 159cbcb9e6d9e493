// Preloaded (NODE_OPTIONS=--require) by .ci/node24: better-sqlite3's addon in node_modules is
// built for the Node that ran `npm ci`; under Node 24 it loads the copy .ci/node24 built
// against Node 24's own headers instead (LLMPOOL_NODE24_SQLITE). Nothing else changes.
const Module = require("node:module");
const addon = process.env.LLMPOOL_NODE24_SQLITE;
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (addon && request === "bindings" && parent && parent.filename.includes("better-sqlite3")) return () => require(addon);
  return load.call(this, request, parent, isMain);
};
