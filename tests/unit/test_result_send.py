"""Sending a streamed result over the MySQL protocol: the next batch computes while one is sent."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from augurdb.errors import AugurError
from augurdb.result import Result
from augurdb.server.mysql.packets import frame
from augurdb.server.mysql.resultset import send_result

SCHEMA = pa.schema([("x", pa.int64())])


class _Stream:
    """What send_result needs of a PacketStream; `flushed` waits on `ready_to_flush` first."""

    def __init__(self, ready_to_flush: threading.Event | None = None):
        self.seq, self.packets, self.flushes = 0, [], 0
        self.ready_to_flush = ready_to_flush

    def write(self, payload: bytes) -> None:
        data, self.seq = frame(payload, self.seq)
        self.packets.append(data)

    def write_raw(self, data, next_seq: int) -> None:
        self.packets.append(bytes(data))
        self.seq = next_seq

    async def flush(self) -> None:
        if self.ready_to_flush is not None and self.packets[-1][4] != 0xFE:  # rows, not the end
            # The client is slow to take the first batch's rows; the second must compute meanwhile.
            assert await asyncio.to_thread(self.ready_to_flush.wait, 10), "the next batch never started"
        self.flushes += 1


def _payloads(written: list[bytes]) -> list[bytes]:
    data, payloads = b"".join(written), []
    while data:
        size = int.from_bytes(data[:3], "little")
        payloads.append(data[4:4 + size])
        data = data[4 + size:]
    return payloads


def _send(result: Result, stream: _Stream) -> None:
    with ThreadPoolExecutor(4) as pool:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            await send_result(stream, result, binary=False, deprecate_eof=True,
                              offload=lambda fn: loop.run_in_executor(pool, fn))
        asyncio.run(main())


def test_the_next_batch_computes_while_the_one_before_is_sent():
    second_started = threading.Event()

    def batches():
        yield pa.record_batch([pa.array([1, 2])], schema=SCHEMA)
        second_started.set()  # set on a worker thread, while the first batch is being flushed
        yield pa.record_batch([pa.array([3])], schema=SCHEMA)

    stream = _Stream(ready_to_flush=second_started)
    _send(Result.streamed(pa.RecordBatchReader.from_batches(SCHEMA, batches())), stream)
    payloads = _payloads(stream.packets)
    assert payloads[2:] == [b"\x011", b"\x012", b"\x013", payloads[-1]]  # column count, definition, rows, end
    assert payloads[-1][0] == 0xFE


def test_an_error_computing_a_later_batch_ends_the_rows_with_an_error_packet():
    ended = []

    def batches():
        try:
            yield pa.record_batch([pa.array([1, 2])], schema=SCHEMA)
            raise AugurError("the source went away", code=2013)
        finally:
            ended.append(True)

    stream = _Stream()
    _send(Result.streamed(pa.RecordBatchReader.from_batches(SCHEMA, batches())), stream)
    last = _payloads(stream.packets)[-1]
    assert last[0] == 0xFF and int.from_bytes(last[1:3], "little") == 2013
    assert b"the source went away (after 2 rows)" in last
    assert ended == [True]
