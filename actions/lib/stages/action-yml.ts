// action.yml files are generated from the stage catalog so inputs, outputs and the CLI never drift apart.
import * as yaml from 'js-yaml';
import type { StageDef } from './catalog.ts';

export function renderActionYml(stage: StageDef): string {
  const doc = {
    name: stage.title,
    description: stage.description,
    author: 'bcmkube',
    branding: { icon: 'server', color: 'green' },
    inputs: Object.fromEntries(
      stage.inputs.map((i) => [
        i.name,
        {
          description: i.secret ? `${i.description} Masked in logs.` : i.description,
          required: Boolean(i.required),
          ...(i.default !== undefined ? { default: i.default } : {}),
        },
      ]),
    ),
    outputs: Object.fromEntries(stage.outputs.map((o) => [o.name, { description: o.description }])),
    runs: {
      using: 'node24',
      main: `../../dist/${stage.action}/index.js`,
      post: `../../dist/${stage.action}/index.js`,
      'post-if': 'always()',
    },
  };
  const header = '# Generated from actions/lib/stages/catalog.ts by `npm run gen` — edit the catalog, not this file.\n';
  return header + yaml.dump(doc, { lineWidth: 120, quoteStyle: 'single' });
}
