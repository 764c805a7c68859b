// The one place the vendored Preact + hooks + htm build is named: pages import from here, so a version bump
// (scripts/vendor-console) changes one line.
export * from "./vendor/htm-3.1.1/standalone.module.js";
