"""Benchmarks of the Python SDK against a real weftd (not part of the tests).

    sdk-python/bench/run            # or: .venv/bin/python bench/bench.py [--quick]

Prints, in one run:
  set   the median cost of ``ctx.x = v`` on a connected client (every call on the accepted
        path: the buffer is flushed between samples and the run fails if anything was
        dropped), beside the median cost of ``logging.Logger.debug("x=%s", v)`` with a handler
        attached and enabled (StreamHandler with a formatter, writing to /dev/null) as the
        baseline, and their ratio (target: <= 3 us and ratio <= 1.0). A NullHandler figure
        is printed too, for orientation.
  e2e   events/s from one Python process through weftd: OBJECTS x 10 events (BORN, 8 sets,
        FINISHED) published from the main thread with the default client settings (but a
        buffer that holds them all), timed until ``flush()`` reports that weftd has every one
        (target >= 100,000/s); the daemon's counters confirm the count. Beside it, the CPU time
        the process spent per event (all its threads), and the baseline: a raw gRPC client
        (generated classes, requests serialized before the clock starts) streaming the same
        events in batches of the same size to the same daemon, timed until weftd acknowledges
        a flush after the last batch.
  calls the round trip of ``client.call("bench", "echo", 1)`` through weftd to a handler served
        by the same process (``weft.serve``), p50/p99 over sequential calls, beside two raw
        grpcio unary calls in the same run: ``AdminService/Info`` (the baseline: one local gRPC
        round trip to weftd) and ``CallService/Call`` with the generated stub (the same call
        without the SDK's caller side).
  channels  messages/s from a ``Sender`` to a ``Receiver`` of another client in the same process
        (drained by a thread, until the end-of-channel), beside the baseline: two raw grpcio
        ``CallService/Channel`` streams doing the same with requests built before the clock
        starts; rounds alternate. Undelivered messages (QUEUE_FULL) are printed, not hidden.
  stats ops/s of ``Counter.increment()``, ``Namespace.add(key)`` and ``Namespace.put(...)`` on
        the application's thread (weftd connected; the put figure is timed in chunks that fit
        the op queue, flushed between chunks), beside a ``with lock: d[key] += 1`` baseline; and
        the end-to-end rate of ``put``s until ``flush()`` reports weftd applied them.

    bench/run --part calls,stats     # only some parts (publish, calls, channels, stats)
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import weft  # noqa: E402
from weft._client import DEFAULT_MAX_BATCH  # noqa: E402
from conftest import Weftd  # noqa: E402  (the test fixture's daemon launcher)
from google.protobuf import struct_pb2  # noqa: E402
from weft._gen.weft.v1 import (  # noqa: E402
    admin_service_pb2,
    admin_service_pb2_grpc,
    call_service_pb2,
    call_service_pb2_grpc,
    context_service_pb2,
    types_pb2,
)

import grpc  # noqa: E402


def per_call_samples(fn, samples: int, calls: int, between=None) -> list:
    """Seconds per call: ``samples`` timings of ``calls`` consecutive calls each."""
    out = []
    perf = time.perf_counter
    for _ in range(samples):
        t0 = perf()
        fn(calls)
        out.append((perf() - t0) / calls)
        if between is not None:
            between()
    return out


def bench_set(address: str, samples: int, calls: int) -> dict:
    client = weft.Client(address)
    assert client.flush(30), "weftd did not answer a flush"
    ctx = weft.Context(name="bench.set", client=client)

    def sets(n: int) -> None:
        for i in range(n):
            ctx.x = i

    def drain() -> None:
        if not client.flush(30):
            raise SystemExit("flush between samples failed")

    per_call_samples(sets, 5, calls, drain)  # warm-up
    set_samples = per_call_samples(sets, samples, calls, drain)
    dropped = client.dropped
    ctx.close()
    client.close(wait=5)
    if dropped:
        raise SystemExit(f"{dropped} events dropped: the set figure would include the drop path")

    def logger_with(handler: logging.Handler) -> logging.Logger:
        logger = logging.getLogger(f"bench.{type(handler).__name__}")
        logger.handlers[:] = [handler]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        return logger

    devnull = open(os.devnull, "w")
    stream = logging.StreamHandler(devnull)
    stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    loggers = {"stream": logger_with(stream), "null": logger_with(logging.NullHandler())}
    baselines = {}
    for label, logger in loggers.items():
        debug = logger.debug

        def logs(n: int, debug=debug) -> None:
            for i in range(n):
                debug("x=%s", i)

        per_call_samples(logs, 5, calls)
        baselines[label] = statistics.median(per_call_samples(logs, samples, calls))
    devnull.close()
    return {"set": statistics.median(set_samples), **baselines}


def daemon_counters(address: str) -> dict:
    with grpc.insecure_channel(address) as channel:
        info = admin_service_pb2_grpc.AdminServiceStub(channel).Info(admin_service_pb2.InfoRequest(), timeout=10)
        return dict(info.counters)


def bench_e2e(address: str, objects: int) -> dict:
    events = objects * 10
    client = weft.Client(address, buffer_size=events)
    assert client.flush(30), "weftd did not answer a flush"
    before = daemon_counters(address)
    Context = weft.Context
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(objects):
        ctx = Context(name="bench.e2e", client=client)
        ctx.a = i
        ctx.b = "some text"
        ctx.c = i * 0.5
        ctx.d = True
        ctx.e = i
        ctx.f = "more"
        ctx.g = i
        ctx.h = None
        ctx.close()
    published = time.perf_counter() - t0
    complete = client.flush(120)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    # weftd publishes its counters periodically: read them until they show every event, or
    # stop changing for a second (then the difference is reported as lost).
    applied, last_change = -1, time.monotonic()
    while time.monotonic() - last_change < 1.0:
        now = daemon_counters(address).get("events_applied", 0) - before.get("events_applied", 0)
        if now != applied:
            applied, last_change = now, time.monotonic()
        if applied >= events:
            break
        time.sleep(0.05)
    result = {
        "events": events,
        "publish_s": published,
        "elapsed_s": elapsed,
        "rate": events / elapsed,
        "cpu_per_event": cpu / events,
        "complete": complete,
        "applied": applied,
        "dropped": client.dropped,
        "dropped_by_daemon": client.dropped_by_daemon,
        "rejected": client.rejected,
    }
    client.close()
    return result


def bench_raw(address: str, objects: int, batch: int, tag: str) -> dict:
    """The same events as bench_e2e through a bare gRPC stream of pre-serialized requests."""
    events = []
    for i in range(objects):
        oid = f"raw-{tag}-{i:08d}"
        values = [("a", i), ("b", "some text"), ("c", i * 0.5), ("d", True), ("e", i), ("f", "more"), ("g", i), ("h", None)]
        kinds = [types_pb2.EVENT_KIND_BORN] + [types_pb2.EVENT_KIND_UPDATE] * 8 + [types_pb2.EVENT_KIND_FINISHED]
        for seq, kind in enumerate(kinds, 1):
            e = types_pb2.ContextEvent(id=oid, routing_key="bench.raw", kind=kind, seq=seq, time_unix_nanos=time.time_ns())
            if 1 < seq < 10:
                e.fields.update(dict([values[seq - 2]]))
            events.append(e)
    requests = []
    for n, start in enumerate(range(0, len(events), batch), 1):
        requests.append(context_service_pb2.PublishRequest(client_id=f"raw-{tag}" if n == 1 else "", batch_seq=n, events=events[start:start + batch]))
    requests.append(context_service_pb2.PublishRequest(batch_seq=len(requests), flush_token=1))
    payloads = [r.SerializeToString() for r in requests]
    with grpc.insecure_channel(address) as channel:
        publish = channel.stream_stream(
            "/weft.v1.ContextService/Publish",
            request_serializer=None,
            response_deserializer=context_service_pb2.PublishResponse.FromString,
        )
        t0 = time.perf_counter()
        for response in publish(iter(payloads)):
            if response.flushed_token == 1:
                break
        elapsed = time.perf_counter() - t0
    return {"events": len(events), "elapsed_s": elapsed, "rate": len(events) / elapsed, "complete": response.flush_complete}


def percentile(sorted_values: list, q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def bench_calls(address: str, calls: int) -> dict:
    client = weft.Client(address, client_id="bench-caller")
    endpoint = weft.Endpoint("bench")
    endpoint.function("echo")(lambda x: x)
    perf = time.perf_counter
    out = {}
    with client.serve(endpoint, threads=2), grpc.insecure_channel(address) as channel:
        info = admin_service_pb2_grpc.AdminServiceStub(channel).Info
        raw_call = call_service_pb2_grpc.CallServiceStub(channel).Call
        info_request = admin_service_pb2.InfoRequest()
        call_request = call_service_pb2.CallRequest(target="bench", function="echo", args=struct_pb2.Value(
            list_value=struct_pb2.ListValue(values=[struct_pb2.Value(number_value=1)])))
        metadata = (("weft-client-id", "bench-raw"),)
        contenders = {
            "raw Info": lambda: info(info_request, timeout=10),
            "raw Call": lambda: raw_call(call_request, timeout=10, metadata=metadata),
            "SDK call": lambda: client.call("bench", "echo", 1, timeout=10),
        }
        for fn in contenders.values():  # warm-up
            for _ in range(max(50, calls // 10)):
                fn()
        samples = {label: [] for label in contenders}
        for _ in range(calls):  # interleaved, so the three see the same machine
            for label, fn in contenders.items():
                t0 = perf()
                fn()
                samples[label].append(perf() - t0)
        for label, values in samples.items():
            values.sort()
            out[label] = (percentile(values, 0.5), percentile(values, 0.99))
    client.close()
    return out


def bench_channels_sdk(address: str, n: int) -> dict:
    import threading

    receiving, sending = weft.Client(address), weft.Client(address)
    receiver = receiving.open_receiver()
    got = [0]

    def drain() -> None:
        for _ in receiver:
            got[0] += 1

    reader = threading.Thread(target=drain)
    reader.start()
    sender = sending.sender(receiver.handle)
    t0 = time.perf_counter()
    for i in range(n):
        sender.send({"i": i, "name": "row"})
    sender.close()
    sent_s = time.perf_counter() - t0
    reader.join(120)
    elapsed = time.perf_counter() - t0
    undelivered = sender.undelivered
    receiving.close()
    sending.close()
    return {"rate": got[0] / elapsed, "send_rate": n / sent_s, "received": got[0], "undelivered": undelivered}


def bench_channels_raw(address: str, n: int) -> dict:
    import queue
    import threading

    with grpc.insecure_channel(address) as channel:
        stream = channel.stream_stream(
            "/weft.v1.CallService/Channel",
            request_serializer=call_service_pb2.ChannelRequest.SerializeToString,
            response_deserializer=call_service_pb2.ChannelResponse.FromString,
        )
        opens: "queue.SimpleQueue" = queue.SimpleQueue()
        opens.put(call_service_pb2.ChannelRequest(open=call_service_pb2.OpenReceiver(ref=1)))

        def receiver_requests():
            while True:
                r = opens.get()
                if r is None:
                    return
                yield r

        receiving = stream(receiver_requests(), metadata=(("weft-client-id", "raw-rx"),))
        handle = next(receiving).opened.handle
        got, undelivered = [0], [0]

        def drain() -> None:
            for r in receiving:
                if r.WhichOneof("msg") == "end":
                    return
                got[0] += 1

        requests = [
            call_service_pb2.ChannelRequest(send=call_service_pb2.ChannelSend(
                handle=handle, seq=i + 1, value=struct_pb2.Value(struct_value=struct_pb2.Struct(fields={
                    "i": struct_pb2.Value(number_value=i), "name": struct_pb2.Value(string_value="row")}))))
            for i in range(n)
        ] + [call_service_pb2.ChannelRequest(close=call_service_pb2.CloseChannel(handle=handle))]
        reader = threading.Thread(target=drain)
        reader.start()
        done = threading.Event()

        def sender_requests():
            yield from requests
            done.wait()  # the sending stream stays open until the receiver saw the end

        t0 = time.perf_counter()
        sending = stream(sender_requests(), metadata=(("weft-client-id", "raw-tx"),))

        def failures() -> None:
            try:
                for r in sending:
                    if r.WhichOneof("msg") == "failed":
                        undelivered[0] += max(1, r.failed.count)
            except grpc.RpcError:
                pass  # cancelled at the end of the round

        threading.Thread(target=failures, daemon=True).start()
        reader.join(120)
        elapsed = time.perf_counter() - t0
        done.set()
        opens.put(None)
        sending.cancel()
        receiving.cancel()
    return {"rate": got[0] / elapsed, "received": got[0], "undelivered": undelivered[0]}


def bench_stats(address: str, ops: int) -> dict:
    client = weft.Client(address)
    ns = client.stats.namespace("bench")
    assert client.stats.flush(30), "weftd did not answer a stats flush"
    perf = time.perf_counter
    counter = ns.counter("increments")
    add = ns.add
    put = ns.put
    lock = __import__("threading").Lock()
    plain = {"k": 0}

    def timed(loop) -> float:
        loop(ops // 10)  # warm-up
        t0 = perf()
        loop(ops)
        return ops / (perf() - t0)

    def increments(n: int) -> None:
        inc = counter.increment
        for _ in range(n):
            inc()

    def adds(n: int) -> None:
        for _ in range(n):
            add("adds")

    def baseline(n: int) -> None:
        for _ in range(n):
            with lock:
                plain["k"] += 1

    result = {"increment": timed(increments), "add": timed(adds), "baseline": timed(baseline)}
    chunk = client.stats.queue_size // 2
    records = [{"Rows": i, "Inserts": i % 7} for i in range(chunk)]
    keys = [f"r{i}" for i in range(chunk)]
    spent, done = 0.0, 0
    while done < ops // 10:
        t0 = perf()
        for i in range(chunk):
            put("Tables", keys[i], records[i])
        spent += perf() - t0
        done += chunk
        assert client.stats.flush(60), "a stats flush did not complete"
    result["put"] = done / spent
    t0 = perf()
    n = 0
    while n < ops // 10:
        for i in range(chunk):
            put("Tables2", keys[i], records[i])
        n += chunk
        assert client.stats.flush(60), "a stats flush did not complete"
    result["put_e2e"] = n / (perf() - t0)
    assert client.stats.flush(30)
    result["chunk"] = chunk
    result["dropped"] = client.stats.dropped
    result["rejected"] = client.stats.rejected
    result["sent"] = client.stats.sent
    client.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run (figures not comparable)")
    parser.add_argument("--rounds", type=int, default=3, help="e2e rounds, each followed by a raw round (default 3)")
    parser.add_argument("--part", default="publish,calls,channels,stats",
                        help="comma-separated: publish, calls, channels, stats (default all)")
    args = parser.parse_args()
    parts = set(args.part.split(","))
    unknown = parts - {"publish", "calls", "channels", "stats"}
    if unknown:
        parser.error(f"unknown parts: {sorted(unknown)}")
    samples, calls, objects = (20, 1000, 5_000) if args.quick else (200, 2000, 50_000)
    round_trips, stats_ops = (300, 100_000) if args.quick else (3000, 1_000_000)
    channel_messages = 2_000 if args.quick else 20_000

    load_before = os.getloadavg()[0]
    daemon = Weftd().start()
    rounds = []
    try:
        if "calls" in parts:
            c = bench_calls(daemon.address, round_trips)
        channel_rounds = []
        for _ in range(args.rounds if "channels" in parts else 0):
            channel_rounds.append((bench_channels_sdk(daemon.address, channel_messages),
                                   bench_channels_raw(daemon.address, channel_messages)))
        if "stats" in parts:
            st = bench_stats(daemon.address, stats_ops)
        if "publish" in parts:
            s = bench_set(daemon.address, samples, calls)
        for n in range(args.rounds if "publish" in parts else 0):
            e = bench_e2e(daemon.address, objects)
            r = bench_raw(daemon.address, objects, DEFAULT_MAX_BATCH, str(n))
            rounds.append((e, r))
            print(f"e2e round {n + 1}: SDK {e['rate']:,.0f} events/s (CPU {e['cpu_per_event'] * 1e6:.2f} us/event),"
                  f" raw gRPC {r['rate']:,.0f} events/s", flush=True)
    finally:
        daemon.cleanup()

    print(f"python {sys.version.split()[0]}, weft {weft.__version__}, {os.cpu_count()} cores, load average"
          f" {load_before:.1f} before / {os.getloadavg()[0]:.1f} after (other processes share the cores)")
    if "calls" in parts:
        base50, base99 = c["raw Info"]
        print(f"calls: {round_trips} sequential round trips each, interleaved, over the unix socket")
        for label, (p50, p99) in c.items():
            print(f"  {label:9} p50 {p50 * 1e6:8.0f} us   p99 {p99 * 1e6:8.0f} us   ratio to raw Info p50 {p50 / base50:5.2f}"
                  f" p99 {p99 / base99:5.2f}")
    if "channels" in parts:
        print(f"channels: {args.rounds} rounds of {channel_messages} messages, sender and receiver in this process")
        for n, (sdk, raw) in enumerate(channel_rounds, 1):
            print(f"  round {n}: SDK {sdk['rate']:,.0f} messages/s received (send calls {sdk['send_rate']:,.0f}/s;"
                  f" received {sdk['received']}, undelivered {sdk['undelivered']}); raw grpcio {raw['rate']:,.0f}/s"
                  f" (received {raw['received']}, undelivered {raw['undelivered']}); SDK/raw {sdk['rate'] / raw['rate']:.2f}")
        sdk_median = statistics.median(sdk["rate"] for sdk, _ in channel_rounds)
        raw_median = statistics.median(raw["rate"] for _, raw in channel_rounds)
        print(f"  median SDK {sdk_median:,.0f} messages/s, raw {raw_median:,.0f}/s, SDK/raw {sdk_median / raw_median:.2f}")
    if "stats" in parts:
        print(f"stats: {stats_ops} ops per figure (put: {stats_ops // 10})")
        print(f"  Counter.increment()        {st['increment']:12,.0f} ops/s   ratio to baseline {st['increment'] / st['baseline']:.2f}")
        print(f"  Namespace.add(key)         {st['add']:12,.0f} ops/s   ratio to baseline {st['add'] / st['baseline']:.2f}")
        print(f"  with lock: d[key] += 1     {st['baseline']:12,.0f} ops/s   (baseline)")
        print(f"  Namespace.put(...)         {st['put']:12,.0f} ops/s   (calls only)")
        print(f"  put until weftd applied    {st['put_e2e']:12,.0f} ops/s   (end to end, flush per {st['chunk']:,} puts)")
        print(f"  sent {st['sent']} ops; dropped {st['dropped']}; rejected {st['rejected']}")
    if "publish" not in parts:
        return
    ratio = s["set"] / s["stream"]
    print(f"set: {samples} samples x {calls} calls; e2e: {args.rounds} rounds of {objects} objects x 10 events")
    print(f"set  ctx.x = v                           median {s['set'] * 1e6:7.2f} us   (target <= 3 us)")
    print(f"     Logger.debug, StreamHandler+format   median {s['stream'] * 1e6:7.2f} us   (baseline)")
    print(f"     Logger.debug, NullHandler            median {s['null'] * 1e6:7.2f} us   (orientation)")
    print(f"     ratio set / baseline                        {ratio:7.2f}      (target <= 1.0)")
    for n, (e, r) in enumerate(rounds, 1):
        print(f"e2e  round {n}: {e['events']} events in {e['elapsed_s']:.2f} s (publish calls {e['publish_s']:.2f} s)"
              f" = {e['rate']:,.0f} events/s; flush complete {e['complete']}; daemon applied {e['applied']};"
              f" dropped SDK {e['dropped']} / daemon {e['dropped_by_daemon']}; rejected {e['rejected']};"
              f" CPU {e['cpu_per_event'] * 1e6:.2f} us/event;"
              f" raw {r['rate']:,.0f} events/s (flush complete {r['complete']}); SDK/raw {e['rate'] / r['rate']:.2f}")
    rates = sorted(e["rate"] for e, _ in rounds)
    raw_rates = sorted(r["rate"] for _, r in rounds)
    cpu = statistics.median(e["cpu_per_event"] for e, _ in rounds)
    lost = sum(e["events"] - e["applied"] for e, _ in rounds)
    best, median = rates[-1], statistics.median(rates)
    print("summary:")
    print(f"  set cost      {s['set'] * 1e6:.2f} us                      {'pass' if s['set'] <= 3e-6 else 'short'}")
    print(f"  set/baseline  {ratio:.2f}                         {'pass' if ratio <= 1.0 else 'short'}")
    verdict = "FLAGGED" if lost else ("pass" if median >= 100_000 else "short")
    print(f"  e2e           median {median:,.0f} events/s, best {best:,.0f}   {verdict}"
          f"{f' ({lost} events lost)' if lost else ''}")
    print(f"  e2e/raw       median {median / statistics.median(raw_rates):.2f} (raw median {statistics.median(raw_rates):,.0f} events/s)")
    print(f"  CPU per event {cpu * 1e6:.2f} us (= {1 / cpu:,.0f} events per CPU-second of the SDK process)")


if __name__ == "__main__":
    main()
