/* global require */
// Runs one fault scenario (argv[2]) and prints what the app observed as `RECORD <json>`.
const { scenarios } = require('./scenarios');

const record = [];
const rec = (what, detail) => record.push(detail === undefined ? [what] : [what, detail]);
const name = process.argv[2];
scenarios[name](rec).then(
  () => console.log(`RECORD ${JSON.stringify(record)}`),
  (err) => {
    console.log(`RECORD ${JSON.stringify([...record, ['scenario threw', String(err && err.stack)]])}`);
    process.exitCode = 1;
  },
);
