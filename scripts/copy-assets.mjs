// Copies the non-TypeScript files the server reads at run time (the toolkit catalogue) into dist/.
import { cpSync } from 'node:fs';

cpSync('src/modules/toolkits/catalogue', 'dist/modules/toolkits/catalogue', { recursive: true });
