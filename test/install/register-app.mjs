// Run as `node --import sockscope/register register-app.mjs`.
import { checkout } from './calls.mjs';

await checkout();
console.log('ok');
