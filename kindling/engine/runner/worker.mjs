// Kindling's job runner, started as `node --experimental-vm-modules worker.mjs` when there is no
// startup snapshot of it (snapshot.mjs): see main.mjs for the protocol.
import { main } from './main.mjs';

await main();
