// Regenerates the files derived from code: actions/<name>/action.yml from the stage catalog, and
// docs/cluster-spec.md and the compiled spec validator from the spec's JSON Schema.
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderSpecDocs } from '../actions/lib/config/docs.ts';
import { specValidatorSource } from '../actions/lib/config/validator-source.ts';
import { renderActionYml } from '../actions/lib/stages/action-yml.ts';
import { STAGES } from '../actions/lib/stages/catalog.ts';

for (const stage of STAGES) {
  mkdirSync(`actions/${stage.action}`, { recursive: true });
  writeFileSync(`actions/${stage.action}/action.yml`, renderActionYml(stage));
}
mkdirSync('docs', { recursive: true });
writeFileSync('docs/cluster-spec.md', renderSpecDocs());
writeFileSync('actions/lib/config/spec-validator.generated.ts', specValidatorSource());
console.log(`generated ${STAGES.length} action.yml files, docs/cluster-spec.md and actions/lib/config/spec-validator.generated.ts`);
