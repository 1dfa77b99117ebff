#!/usr/bin/env node
/**
 * `npx quire`: the server as `npm start` runs it, from an installed
 * `@quire/server`, configured by the same environment variables
 * (docs/configuration.md, docs/server-library.md "CLI").
 */
import './main.js'
