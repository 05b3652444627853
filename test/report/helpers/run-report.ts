// Runs `sockscope report` in a child process for the CLI tests: argv after the script name.
import { runReport } from '../../../src/cli/report';

void runReport(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
