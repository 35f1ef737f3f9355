"""A slow OpenAI-style hub for bench/streams.sh: every POST gets a streamed chat completion
(server-sent events, chunked), one chunk every INTERVAL seconds, CHUNKS chunks, then a usage
chunk and `data: [DONE]`. Connections are kept alive. Standard library only.

    python3 hub.py PORT CHUNKS INTERVAL
"""

import asyncio
import json
import sys

PORT, CHUNKS, INTERVAL = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])


def chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def event(obj) -> bytes:
    return chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            for i in range(CHUNKS):
                writer.write(
                    event(
                        {
                            "id": "bench",
                            "object": "chat.completion.chunk",
                            "model": "deepseek-v3",
                            "choices": [{"index": 0, "delta": {"content": f"t{i} "}}],
                        }
                    )
                )
                await writer.drain()
                await asyncio.sleep(INTERVAL)
            writer.write(
                event(
                    {
                        "id": "bench",
                        "object": "chat.completion.chunk",
                        "model": "deepseek-v3",
                        "choices": [],
                        "usage": {
                            "prompt_tokens": 12,
                            "completion_tokens": CHUNKS,
                            "total_tokens": 12 + CHUNKS,
                        },
                    }
                )
            )
            writer.write(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", PORT, backlog=16384)
    async with server:
        await server.serve_forever()


asyncio.run(main())
