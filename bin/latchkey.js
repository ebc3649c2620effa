#!/usr/bin/env node
// The latchkey CLI (built to dist/ by `npm install`, through the prepare script).
import '../dist/cli.js';
