package weft_test

// Benchmarks, not part of the test run: sdk-go/bench runs them with the settings its README
// section describes and prints the figures beside their baselines.

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	"github.com/weft-dev/weft/sdk-go/internal/daemontest"
	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
)

// setFlushEvery empties the buffer (untimed) this often, so the measured Sets never find it
// full: every one of them takes the accepted path.
const setFlushEvery = 100_000

var sink *weftv1.ContextEvent

// BenchmarkSet is the application's cost of obj.Set("k", i).
func BenchmarkSet(b *testing.B) {
	b.Run("connected", func(b *testing.B) {
		c := connect(b, shared(b).Address(), weft.WithBufferCapacity(4*setFlushEvery))
		obj := must[*weft.Context](b)(c.Context("bench.set", nil))
		defer obj.Close()
		flush(b, c)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%setFlushEvery == setFlushEvery-1 {
				b.StopTimer()
				flush(b, c)
				b.StartTimer()
			}
			_ = obj.Set("k", i)
		}
		b.StopTimer()
		flush(b, c)
		if c.Dropped()+c.DroppedByDaemon()+c.Rejected() > 0 {
			b.Fatalf("lost events: dropped %d, by daemon %d, rejected %d", c.Dropped(), c.DroppedByDaemon(), c.Rejected())
		}
	})

	b.Run("buffer_full", func(b *testing.B) {
		d, err := daemontest.New() // never launched: the buffer fills and stays full
		ok(b, err)
		defer d.Close()
		c := connect(b, d.Address(), weft.WithBufferCapacity(16))
		obj := must[*weft.Context](b)(c.Context("bench.set", nil))
		for i := range 16 {
			_ = obj.Set("k", i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_ = obj.Set("k", i)
		}
	})

	b.Run("baseline_build_event", func(b *testing.B) {
		// The same event built the ordinary way with the generated code: what an SDK without
		// its compact queue would pay before even queuing it.
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			sink = &weftv1.ContextEvent{
				Id: "0b7e6a5e-8f5c-4d1e-9a51-5b1b3c0f4a11", RoutingKey: "bench.set", Kind: weftv1.EventKind_EVENT_KIND_UPDATE,
				Seq: uint64(i), TimeUnixNanos: time.Now().UnixNano(),
				Fields: &structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewNumberValue(float64(i))}},
			}
		}
	})
}

// Throughput: objectsPerRound objects of eventsPerObject events (BORN with one field, eight
// Sets, FINISHED) from one publisher through weftd to a collating watcher (Objects on a second
// client), timed until the watcher holds every finished object.
const (
	objectsPerRound = 100_000
	eventsPerObject = 10
	throughputBuf   = 1 << 16
	throughputBatch = 2048 // events per batch, as the Java SDK's benchmark uses
	watchBuffer     = 65_536
	quietPeriod     = 5 * time.Second
)

var setKeys = [...]string{"a", "b", "c", "d", "e", "f", "g", "h"}

// BenchmarkThroughput reports events/s through weftd for the SDK and, as the baseline, for a
// raw gRPC client streaming pre-built batches of the same events. One round per b.N.
func BenchmarkThroughput(b *testing.B) {
	// One daemon per publisher, kept across the runs the framework makes.
	sdkDaemon, rawDaemon := startOwnB(b), startOwnB(b)
	b.Run("sdk", func(b *testing.B) {
		d := sdkDaemon
		c := connect(b, d.Address(), weft.WithBufferCapacity(throughputBuf), weft.WithMaxBatchEvents(throughputBatch))
		highWater := throughputBuf / 4 * 3
		var waits int
		rounds(b, d, nil, func(routingKey string) {
			for i := 0; i < objectsPerRound; i++ {
				for c.Pending() > highWater {
					time.Sleep(100 * time.Microsecond)
					waits++
				}
				obj, err := c.Context(routingKey, weft.Fields{"n": i})
				if err != nil {
					b.Fatal(err)
				}
				for _, k := range setKeys {
					_ = obj.Set(k, i)
				}
				obj.Close()
			}
		}, func() string {
			flush(b, c) // let the last acks in: they carry the daemon's drop count
			return fmt.Sprintf("dropped %d, by daemon %d, rejected %d; paced %d times (pending > %d)",
				c.Dropped(), c.DroppedByDaemon(), c.Rejected(), waits, highWater)
		})
	})

	b.Run("raw_grpc", func(b *testing.B) {
		d := rawDaemon
		conn, err := grpc.NewClient(d.Address(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		ok(b, err)
		defer conn.Close()
		client := weftv1.NewContextServiceClient(conn)
		var droppedByDaemon, rejected atomic.Uint64
		var batches []*weftv1.PublishRequest
		rounds(b, d, func(routingKey string) {
			batches = rawBatches(routingKey) // not the baseline's work: untimed
		}, func(string) {
			stream, err := client.Publish(context.Background())
			ok(b, err)
			acked := make(chan struct{})
			go func() {
				defer close(acked)
				for {
					r, err := stream.Recv()
					if err != nil {
						return
					}
					droppedByDaemon.Store(r.GetDropped())
					rejected.Store(r.GetRejected())
				}
			}()
			for _, req := range batches {
				ok(b, stream.Send(req))
			}
			ok(b, stream.CloseSend())
			<-acked
		}, func() string {
			return fmt.Sprintf("dropped by daemon %d, rejected %d (last round)", droppedByDaemon.Load(), rejected.Load())
		})
	})
}

func startOwnB(b *testing.B) *daemontest.Daemon {
	d, err := daemontest.Start()
	if err != nil {
		b.Fatalf("starting weftd: %v", err)
	}
	b.Cleanup(d.Close)
	return d
}

// rawBatches builds one round's events as PublishRequests of throughputBatch events.
func rawBatches(routingKey string) []*weftv1.PublishRequest {
	var out []*weftv1.PublishRequest
	var events []*weftv1.ContextEvent
	seqBatch := uint64(0)
	add := func(e *weftv1.ContextEvent) {
		events = append(events, e)
		if len(events) == throughputBatch {
			seqBatch++
			out = append(out, &weftv1.PublishRequest{ClientId: "raw", BatchSeq: seqBatch, Events: events})
			events = nil
		}
	}
	num := func(k string, i int) *structpb.Struct {
		return &structpb.Struct{Fields: map[string]*structpb.Value{k: structpb.NewNumberValue(float64(i))}}
	}
	for i := 0; i < objectsPerRound; i++ {
		id := fmt.Sprintf("raw-%s-%d", routingKey, i)
		now := time.Now().UnixNano()
		add(&weftv1.ContextEvent{Id: id, RoutingKey: routingKey, Kind: weftv1.EventKind_EVENT_KIND_BORN, Seq: 1, TimeUnixNanos: now, Fields: num("n", i)})
		for j, k := range setKeys {
			add(&weftv1.ContextEvent{Id: id, RoutingKey: routingKey, Kind: weftv1.EventKind_EVENT_KIND_UPDATE, Seq: uint64(j + 2), TimeUnixNanos: now, Fields: num(k, i)})
		}
		add(&weftv1.ContextEvent{Id: id, RoutingKey: routingKey, Kind: weftv1.EventKind_EVENT_KIND_FINISHED, Seq: eventsPerObject, TimeUnixNanos: now})
	}
	if len(events) > 0 {
		out = append(out, &weftv1.PublishRequest{ClientId: "raw", BatchSeq: seqBatch + 1, Events: events})
	}
	return out
}

// rounds runs b.N timed rounds of publish against a watcher and reports the medians of their
// events/s and client CPU per event (the rate counts only objects that arrived; a short round
// is flagged LOSSY). A daemon's first call runs throughputWarmups untimed rounds first: the
// daemon's JIT needs a few million events. prepare, when given, runs before each round,
// untimed.
func rounds(b *testing.B, d *daemontest.Daemon, prepare, publish func(routingKey string), losses func() string) {
	b.StopTimer()
	watcher := connect(b, d.Address())
	if !warmed[d] {
		warmed[d] = true
		for w := range throughputWarmups {
			r := round(b, watcher, prepare, publish)
			b.Logf("warm-up %d: %s; %s", w+1, r, losses())
		}
	}
	var rates, cpuPerEvent []float64
	for i := 0; i < b.N; i++ {
		b.StartTimer()
		r := round(b, watcher, prepare, publish)
		b.StopTimer()
		b.Logf("round %d: %s; %s", i+1, r, losses())
		rates = append(rates, r.rate())
		cpuPerEvent = append(cpuPerEvent, float64(r.cpu.Nanoseconds())/float64(r.received*eventsPerObject))
	}
	b.ReportMetric(median(rates), "events/s")
	// The CPU this process (publisher and watcher together) spent per event: what the client
	// side costs, whatever the daemon's speed on a shared machine.
	b.ReportMetric(median(cpuPerEvent), "cpu-ns/event")
	b.ReportMetric(0, "ns/op")
}

const throughputWarmups = 3

var (
	warmed     = map[*daemontest.Daemon]bool{}
	roundCount atomic.Int64
)

type roundResult struct {
	received int64
	elapsed  time.Duration
	cpu      time.Duration
	lagged   uint64
}

func (r roundResult) rate() float64 {
	return float64(r.received*eventsPerObject) / r.elapsed.Seconds()
}

func (r roundResult) String() string {
	lossy := ""
	if r.received < objectsPerRound || r.lagged > 0 {
		lossy = " <-- LOSSY"
	}
	return fmt.Sprintf("%d events in %.2fs = %.0f events/s; this process used %.2fs of CPU; objects %d/%d, watcher lagged %d%s",
		r.received*eventsPerObject, r.elapsed.Seconds(), r.rate(), r.cpu.Seconds(), r.received, objectsPerRound, r.lagged, lossy)
}

// round publishes one round's objects under a fresh routing key and waits until the watcher
// holds them all, or none arrived for quietPeriod.
func round(b *testing.B, watcher *weft.Client, prepare, publish func(routingKey string)) roundResult {
	base := fmt.Sprintf("bench.r%d", roundCount.Add(1))
	m, err := watcher.Objects(context.Background(), weft.RoutingKeys(base+".#"), weft.WatchBuffer(watchBuffer))
	ok(b, err)
	defer m.Close()
	var received, lastArrival atomic.Int64
	ready := make(chan struct{})
	go func() {
		for o, err := range m.All() {
			if err != nil {
				return
			}
			switch o.RoutingKey {
			case base + ".probe":
				select {
				case <-ready:
				default:
					close(ready)
				}
			case base + ".data":
				lastArrival.Store(time.Now().UnixNano())
				received.Add(1)
			}
		}
	}()
	awaitProbe(b, watcher, base+".probe", ready)
	if prepare != nil {
		prepare(base + ".data")
	}
	start, cpuStart := time.Now(), processCPU()
	publish(base + ".data")
	for seen := int64(-1); received.Load() < objectsPerRound && received.Load() != seen; {
		seen = received.Load()
		waitFor(quietPeriod, func() bool { return received.Load() == objectsPerRound })
	}
	return roundResult{
		received: received.Load(),
		elapsed:  time.Duration(lastArrival.Load() - start.UnixNano()),
		cpu:      processCPU() - cpuStart,
		lagged:   m.Lagged(),
	}
}

func awaitProbe(b *testing.B, c *weft.Client, probeKey string, ready chan struct{}) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		_, err := c.Context(probeKey, nil, weft.Transient())
		ok(b, err)
		if waitFor(200*time.Millisecond, func() bool {
			select {
			case <-ready:
				return true
			default:
				return false
			}
		}) {
			return
		}
	}
	b.Fatalf("the watcher saw no probe within %v", wait)
}

// waitFor polls cond until it holds (true) or timeout passes (false).
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
