"""N concurrent streamed chat completions through the dispatcher for bench/streams.sh, while
the dispatcher's resident memory is sampled from /proc every 0.25 s. Standard library only.

    python3 client.py PID PORT N
"""

import asyncio
import sys
import time

PID, PORT, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
BODY = (
    b'{"model":"deepseek-v3","stream":true,"stream_options":{"include_usage":true},'
    b'"messages":[{"role":"user","content":"Stream me a long answer."}]}'
)
REQUEST = (
    b"POST /v1/chat/completions HTTP/1.1\r\nhost: tokengrid\r\n"
    b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY)
)


def rss_mb() -> float:
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


async def one(stats: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT, limit=1 << 20)
    writer.write(REQUEST)
    await writer.drain()
    status = await reader.readline()
    if not status.startswith(b"HTTP/1.1 200"):
        stats["failed"] += 1
        stats.setdefault("first_failure", status + await reader.read(300))
        writer.close()
        return
    stats["open"] += 1
    stats["peak_open"] = max(stats["peak_open"], stats["open"])
    data = b""
    while b"[DONE]" not in data:
        got = await reader.read(65536)
        if not got:
            break
        data = data[-64:] + got
    stats["open"] -= 1
    if b"[DONE]" in data:
        stats["done"] += 1
    else:
        stats["cut"] += 1
    writer.close()


async def main() -> None:
    stats = {"open": 0, "peak_open": 0, "done": 0, "failed": 0, "cut": 0}
    idle = rss_mb()
    samples = []

    async def sample() -> None:
        while True:
            samples.append((stats["open"], rss_mb()))
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    t0 = time.time()
    await asyncio.gather(*(one(stats) for _ in range(N)))
    took = time.time() - t0
    await asyncio.sleep(3)
    sampler.cancel()
    after = rss_mb()
    peak = max(r for _, r in samples)
    at_peak_open = max((r for o, r in samples if o == stats["peak_open"]), default=peak)
    print(
        f"{N} streams: {stats['done']} complete, {stats['failed']} refused, {stats['cut']} cut; "
        f"at most {stats['peak_open']} open at once; {took:.1f} s"
    )
    if stats["failed"]:
        print(f"first refusal: {stats['first_failure'][:200]!r}")
    print(
        f"dispatcher RSS: idle {idle:.1f} MB, peak {peak:.1f} MB "
        f"({at_peak_open:.1f} MB with {stats['peak_open']} streams open), "
        f"3 s after the last ended {after:.1f} MB"
    )


asyncio.run(main())
