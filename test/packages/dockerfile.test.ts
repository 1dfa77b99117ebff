/**
 * The image (Dockerfile, docs/deployment.md) installs with `npm ci` before
 * the sources are copied (so the layer is cached), and npm reads the
 * workspaces from their package.json files: a workspace the Dockerfile
 * does not copy is silently left out of the install rather than failing
 * it, and no Docker engine runs here to notice. So each stage that runs
 * `npm ci` is checked against the workspaces the root package.json lists.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { fromRoot } from '../../harness/paths.js'
import { workspacePackages } from '../../harness/packages.js'

const dockerfile = readFileSync(fromRoot('Dockerfile'), 'utf8')
const stages = dockerfile.split(/^FROM /m).slice(1)

describe('Dockerfile', () => {
  it('has stages that install with npm ci', () => {
    expect(stages.filter((s) => /RUN npm ci/.test(s)).length).toBe(2)
  })

  it.each(workspacePackages())('copies %s/package.json before npm ci in every stage', (dir) => {
    for (const stage of stages.filter((s) => /RUN npm ci/.test(s))) {
      const beforeCi = stage.slice(0, stage.indexOf('RUN npm ci'))
      expect(beforeCi).toContain(`COPY ${dir}/package.json ${dir}/`)
    }
  })
})
