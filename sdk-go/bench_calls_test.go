package weft_test

// Benchmarks of calls and statistics, run by `sdk-go/bench calls` and `sdk-go/bench stats`.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	weft "github.com/weft-dev/weft/sdk-go"
	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
)

// BenchmarkCall is one local call round trip through weftd: caller client → weftd → a Go
// handler on another client of the same process → weftd → caller. Baselines in the same run:
// /raw_call, the same call made with the generated stub on a plain grpc-go connection (the
// SDK's own cost is the difference), and /raw_unary, a plain unary RPC that weftd answers
// itself (AdminService.Info: the floor of any round trip to the daemon).
func BenchmarkCall(b *testing.B) {
	d := shared(b)
	server := connect(b, d.Address(), weft.WithClientID("bench-server"))
	caller := connect(b, d.Address(), weft.WithClientID("bench-caller"))
	ep := endpoint(b)
	s, err := server.Serve(context.Background(), ep, map[string]weft.Handler{
		"echo": func(_ context.Context, args []any) (any, error) { return args[0], nil },
	}, weft.WithConcurrency(64))
	ok(b, err)
	defer s.Close()
	ctx := context.Background()
	conn, err := grpc.NewClient(d.Address(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	ok(b, err)
	defer conn.Close()
	calls, admin := weftv1.NewCallServiceClient(conn), weftv1.NewAdminServiceClient(conn)
	// Each round runs in a fresh process with a fresh daemon: warm its JIT up on every path
	// first, so that the first sub-benchmark does not pay for it.
	for i := range warmUpCalls {
		_, err1 := caller.Call(ctx, ep, "echo", i)
		_, err2 := calls.Call(ctx, &weftv1.CallRequest{Target: ep, Function: "echo", Args: structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(1)}})})
		_, err3 := admin.Info(ctx, &weftv1.InfoRequest{})
		if err := errors.Join(err1, err2, err3); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := caller.Call(ctx, ep, "echo", i); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("sdk_parallel", func(b *testing.B) {
		b.SetParallelism(8) // 8 goroutines per core
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := caller.Call(ctx, ep, "echo", i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	b.Run("raw_call", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			args := structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewNumberValue(float64(i))}})
			if _, err := calls.Call(ctx, &weftv1.CallRequest{Target: ep, Function: "echo", Args: args}); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("raw_unary", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := admin.Info(ctx, &weftv1.InfoRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// warmUpCalls are made on each path, untimed, before BenchmarkCall measures.
const warmUpCalls = 3000

var statsSink atomic.Int64

// BenchmarkStatsAdd is the application's cost of counting: Counter.Inc on a handle,
// Namespace.Add by name (one lookup more), the same from every core at once, and while the
// namespace is switched off. Baseline in the same run: an atomic increment, the floor of any
// shared counter.
func BenchmarkStatsAdd(b *testing.B) {
	d := shared(b)
	c := connect(b, d.Address())
	ns := must[*weft.Namespace](b)(c.Stats().Namespace(key(b)))
	counter := must[*weft.Counter](b)(ns.Counter("hits"))
	check := func(b *testing.B) {
		b.StopTimer()
		flushStats(b, c)
		if c.Stats().Dropped()+c.Stats().Rejected() > 0 {
			b.Fatalf("lost ops: dropped %d, rejected %d", c.Stats().Dropped(), c.Stats().Rejected())
		}
	}

	b.Run("counter", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			counter.Inc()
		}
		check(b)
	})
	b.Run("namespace_add", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ns.Add("hits", 1)
		}
		check(b)
	})
	b.Run("namespace_add_parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ns.Add("hits", 1)
			}
		})
		check(b)
	})
	b.Run("switched_off", func(b *testing.B) {
		off := must[*weft.Namespace](b)(c.Stats().Namespace(key(b)))
		_, err := c.Stats().SetEnabled(context.Background(), off.Name(), false)
		ok(b, err)
		poll(b, wait, "the namespace to be switched off", func() bool { return !off.Enabled() })
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			off.Add("hits", 1)
		}
	})
	b.Run("baseline_atomic_add", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			statsSink.Add(1)
		}
	})
}
