#!/usr/bin/env node
// Loads the TypeScript entry through tsx's loader so `npx sealab` works from a clone without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
