package weft_test

// The channel benchmark, run by `sdk-go/bench channels`.

import (
	"context"
	"errors"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	"github.com/weft-dev/weft/sdk-go/internal/daemontest"
	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
)

// BenchmarkChannel streams b.N numbers from one client through weftd to a receiver on another
// client of the same process, timed until the receiver has the end-of-channel. The baseline in
// the same run, /raw, does the same with two plain CallService.Channel streams of the generated
// stub on one grpc-go connection (no flow control of its own, no checks). Each reports msgs/s.
// The daemon's queue per receiving client is 1,048,576 messages (WEFT_CHANNEL_QUEUE), so that a
// sender outrunning the receiver is measured, not refused; a message weftd reports undelivered
// fails the run.
func BenchmarkChannel(b *testing.B) {
	d, err := daemontest.Start("WEFT_CHANNEL_QUEUE=1048576")
	if err != nil {
		b.Fatalf("starting weftd: %v", err)
	}
	defer d.Close()
	rc := connect(b, d.Address(), weft.WithClientID("bench-receiver"))
	sc := connect(b, d.Address(), weft.WithClientID("bench-sender"))
	conn, err := grpc.NewClient(d.Address(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	ok(b, err)
	defer conn.Close()
	calls := weftv1.NewCallServiceClient(conn)
	// Warm weftd's JIT up on both paths.
	sdkRound(b, rc, sc, 20_000)
	rawRound(b, calls, 20_000)

	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		sdkRound(b, rc, sc, b.N)
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		rawRound(b, calls, b.N)
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
}

func sdkRound(b *testing.B, rc, sc *weft.Client, n int) {
	ctx := context.Background()
	r, err := rc.OpenReceiver(ctx)
	ok(b, err)
	defer r.Close()
	s := sc.Sender(r.Handle())
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			if err := s.Send(i); err != nil {
				sent <- err
				return
			}
		}
		sent <- s.Close()
	}()
	received := 0
	for {
		_, err := r.Receive(ctx)
		if errors.Is(err, weft.ErrChannelEnded) {
			break
		}
		ok(b, err)
		received++
	}
	ok(b, <-sent)
	if received != n || s.Undelivered() != 0 {
		b.Fatalf("received %d of %d, %d reported undelivered", received, n, s.Undelivered())
	}
}

func rawRound(b *testing.B, calls weftv1.CallServiceClient, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in, err := calls.Channel(ctx)
	ok(b, err)
	out, err := calls.Channel(ctx)
	ok(b, err)
	ok(b, in.Send(&weftv1.ChannelRequest{Msg: &weftv1.ChannelRequest_Open{Open: &weftv1.OpenReceiver{Ref: 1}}}))
	opened, err := in.Recv()
	ok(b, err)
	handle := opened.GetOpened().GetHandle()
	failures := make(chan *weftv1.ChannelFailed, 1)
	go func() {
		for i := range n {
			if err := out.Send(&weftv1.ChannelRequest{Msg: &weftv1.ChannelRequest_Send{Send: &weftv1.ChannelSend{
				Handle: handle, Value: structpb.NewNumberValue(float64(i)), Seq: uint64(i + 1)}}}); err != nil {
				return
			}
		}
		_ = out.Send(&weftv1.ChannelRequest{Msg: &weftv1.ChannelRequest_Close{Close: &weftv1.CloseChannel{Handle: handle}}})
	}()
	go func() {
		for {
			r, err := out.Recv()
			if err != nil {
				return
			}
			if f := r.GetFailed(); f != nil {
				failures <- f
				return
			}
		}
	}()
	received := 0
	for {
		r, err := in.Recv()
		ok(b, err)
		if r.GetEnd() != nil {
			break
		}
		received++
	}
	select {
	case f := <-failures:
		b.Fatalf("raw: a send failed: %v", f)
	default:
	}
	if received != n {
		b.Fatalf("raw: received %d of %d", received, n)
	}
}
