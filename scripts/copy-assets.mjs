// Copies the non-TypeScript files the server reads at run time (the toolkit catalogue) into dist/, and
// validates the catalogue once, writing it as one file that the built server loads without
// validating again (src/modules/toolkits/catalogue.ts). Runs after tsc, on the compiled module.
import { cpSync, writeFileSync } from 'node:fs';
import { COMPILED_CATALOGUE, compileCatalogue, loadCatalogue } from '../dist/modules/toolkits/catalogue.js';

cpSync('src/modules/toolkits/catalogue', 'dist/modules/toolkits/catalogue', { recursive: true });
writeFileSync(COMPILED_CATALOGUE, compileCatalogue(loadCatalogue()));
