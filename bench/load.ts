// npm run bench:load -- [flags]: one load run against gateway (or bare) nodes; see --help.
import { runLoad } from "./load-run.js";
import { parseLoadOptions } from "./options.js";
import { endProgress, loadTable, printProgress, writeJson } from "./report.js";

const opts = parseLoadOptions(process.argv.slice(2));
const result = await runLoad(opts, opts.quiet ? undefined : printProgress);
endProgress();
console.log(loadTable(result));
console.log(`result: ${await writeJson("load", result, opts.json)}`);
const failed = result.sends.lost + result.sends.duplicated + result.sends.unexpected;
process.exit(failed > 0 ? 1 : 0);
