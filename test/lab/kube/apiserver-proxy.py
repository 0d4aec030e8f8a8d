#!/usr/bin/env python3
"""A worker's way to the API servers, as Kubespray's nginx-proxy (loadbalancer_apiserver_localhost) is: a TCP
proxy on the node that passes each connection to the first API server that accepts it, so a worker keeps its
API when one control-plane node is down. Installed as /usr/local/bin/lab-apiserver-proxy.
Usage: lab-apiserver-proxy <listen address:port> <server address:port>...
"""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(listen, servers):
    async def handle(client_reader, client_writer):
        for server in servers:
            host, port = server.rsplit(":", 1)
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 3)
            except (OSError, asyncio.TimeoutError):
                continue
            await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))
            return
        client_writer.close()

    host, port = listen.rsplit(":", 1)
    proxy = await asyncio.start_server(handle, host, int(port))
    async with proxy:
        await proxy.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: lab-apiserver-proxy <listen address:port> <server address:port>...")
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
