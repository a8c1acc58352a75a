#!/usr/bin/env node
// Loads the TypeScript entry through tsx's loader so `node bin/sealab.js` works from a checkout without a build step
// (never `npx sealab` outside it: that name on the npm registry is someone else's package; see docs/adr/0011).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
