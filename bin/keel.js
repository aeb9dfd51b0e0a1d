#!/usr/bin/env node
// `npx keel …`: runs the TypeScript CLI through tsx's loader in this same
// process (no child process), so Ctrl-C and SIGTERM reach Keel directly.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
