// Regenerates the files derived from code: actions/<name>/action.yml from the stage catalog.
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderActionYml } from '../actions/lib/stages/action-yml.ts';
import { STAGES } from '../actions/lib/stages/catalog.ts';

for (const stage of STAGES) {
  mkdirSync(`actions/${stage.action}`, { recursive: true });
  writeFileSync(`actions/${stage.action}/action.yml`, renderActionYml(stage));
}
console.log(`generated ${STAGES.length} action.yml files`);
