// Calls runtimes() of npm's piston-client, unchanged, against BASE_URL
// and prints the answer as JSON.  Exit status 0 when the answer is a list
// of runtimes, 1 otherwise (an error object, a failed fetch), 2 on usage.
// With "execute LANGUAGE CODE" it calls execute(LANGUAGE, CODE) instead:
// exit status 0 when the answer has a "run" object.
//
//     node t/data/piston-client-smoke.js http://127.0.0.1:1984
//     node t/data/piston-client-smoke.js http://127.0.0.1:1984 \
//         execute python 'print(1)'
//
// The client is found in $SBX_NODE_MODULES, default build/node_modules
// (scripts/test installs it there).  It is an ES module: NODE_PATH does
// not reach it, so it is imported by its file URL.

'use strict';

const path = require('path');
const { pathToFileURL } = require('url');

async function main(argv) {
    const execute = argv.length === 4 && argv[1] === 'execute';

    if (argv.length !== 1 && !execute) {
        process.stderr.write('usage: piston-client-smoke.js BASE_URL '
                             + '[execute LANGUAGE CODE]\n');
        return 2;
    }

    const modules = process.env.SBX_NODE_MODULES
        || path.join(__dirname, '..', '..', 'build', 'node_modules');
    const entry = path.join(modules, 'piston-client', 'index.js');
    const { piston } = await import(pathToFileURL(entry).href);

    const client = piston({ server: argv[0] });
    let result = execute ? await client.execute(argv[2], argv[3])
                         : await client.runtimes();

    // the client reports a failed fetch as {success: false, error: Error}
    if (result && result.error instanceof Error) {
        result = { success: false, error: String(result.error) };
    }

    process.stdout.write(JSON.stringify(result) + '\n');

    if (execute) {
        return result && typeof result.run === 'object' ? 0 : 1;
    }

    return Array.isArray(result) ? 0 : 1;
}

main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
        process.stderr.write(`piston-client-smoke: ${err.stack || err}\n`);
        process.exitCode = 1;
    });
