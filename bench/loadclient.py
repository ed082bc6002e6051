"""The pipeline bench's load client: HTTP/1.1 keep-alive connections (asyncio, no dependencies),
posting back to back (closed loop) or at a fixed rate (open loop)."""

import asyncio
import time

CONNECTIONS = 16


class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def post(self, path: str, body: bytes, headers: str = "") -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"{headers}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:  # the server closed an idle keep-alive connection: reconnect, send again
            self.close()
            await self.open()
            self.writer.write(head + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        await self.reader.readexactly(length)
        if close:
            self.close()
            await self.open()
        return int(status_line.split()[1])

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def closed_loop(
    port, path, make_body, max_requests: int, max_seconds: float, headers: str = ""
) -> dict:
    """CONNECTIONS clients posting back to back until `max_requests` were sent or time is up."""
    connections = [await Connection(port).open() for _ in range(CONNECTIONS)]
    sent, statuses, latencies = 0, {}, []
    start = time.perf_counter()
    deadline = start + max_seconds

    async def client(connection):
        nonlocal sent
        while sent < max_requests and time.perf_counter() < deadline:
            n = sent
            sent += 1
            began = time.perf_counter()
            status = await connection.post(path, make_body(n), headers)
            latencies.append(time.perf_counter() - began)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client(c) for c in connections))
    elapsed = time.perf_counter() - start
    for connection in connections:
        connection.close()
    return {"elapsed": elapsed, "statuses": statuses, "latencies": latencies}


async def open_loop(port, path, make_body, rate: float, seconds: float) -> dict:
    """Requests due at a fixed rate, each on a free connection; latency from when it was due."""
    free: asyncio.Queue = asyncio.Queue()
    for _ in range(CONNECTIONS):
        free.put_nowait(await Connection(port).open())
    statuses, latencies = {}, []
    start = time.perf_counter()

    async def one(n: int, due: float):
        connection = await free.get()
        try:
            status = await connection.post(path, make_body(n))
        finally:
            free.put_nowait(connection)
        latencies.append(time.perf_counter() - due)
        statuses[status] = statuses.get(status, 0) + 1

    tasks = []
    for n in range(int(rate * seconds)):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    while not free.empty():
        free.get_nowait().close()
    return {"statuses": statuses, "latencies": latencies}
