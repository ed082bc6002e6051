// Inside the OS sandbox the job has a network of its own, whose 127.0.0.1 is not the machine's.
// Ports of the machine that the operator allowed (KINDLING_JOB_ALLOW_HOSTS=127.0.0.1:8080) answer on
// the namespace's own loopback too, forwarded to the host through slirp4netns's gateway address,
// where the namespace's routing rules let through those ports and no others. Jobs that call
// http://127.0.0.1:8080 behave as they do under OpenFn's CLI on the same machine.
import net from 'node:net';

const HOST = '10.0.2.2';

export async function forwardHostPorts(argv) {
  const ports = argv.filter((arg) => arg.startsWith('--forward-host-port=')).map((arg) => Number(arg.split('=')[1]));
  await Promise.all(
    ports.map(
      (port) =>
        new Promise((resolve, reject) => {
          const server = net.createServer((inbound) => {
            const outbound = net.connect(port, HOST);
            inbound.pipe(outbound).pipe(inbound);
            inbound.on('error', () => outbound.destroy());
            outbound.on('error', () => inbound.destroy());
          });
          server.on('error', reject);
          // Not a resource of any run: the hygiene check must not count it as left behind.
          server.listen(port, '127.0.0.1', () => resolve(server.unref()));
        }),
    ),
  );
}
