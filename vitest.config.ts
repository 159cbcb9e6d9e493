import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: keep parallel files modest so timing-sensitive integration tests stay calm.
    maxWorkers: 2,
  },
});
