package weft_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// The publisher's protocol corners that a real weftd does not show on demand (a daemon that
// never acknowledges, a stream that breaks after receiving a batch, a flush that gives up),
// against an in-process fake ContextService. Everything else is tested against weftd.

type fakeContextService struct {
	weftv1.UnimplementedContextServiceServer
	streams chan *fakeStream
}

// fakeStream is one Publish call: the test reads its requests, sends its responses, ends it.
type fakeStream struct {
	requests  chan *weftv1.PublishRequest
	responses chan *weftv1.PublishResponse
	end       chan error
}

func (f *fakeContextService) Publish(s grpc.BidiStreamingServer[weftv1.PublishRequest, weftv1.PublishResponse]) error {
	fs := &fakeStream{
		requests:  make(chan *weftv1.PublishRequest, 1000),
		responses: make(chan *weftv1.PublishResponse),
		end:       make(chan error, 1),
	}
	f.streams <- fs
	go func() {
		defer close(fs.requests)
		for {
			r, err := s.Recv()
			if err != nil {
				return
			}
			fs.requests <- r
		}
	}()
	for {
		select {
		case r := <-fs.responses:
			if err := s.Send(r); err != nil {
				return err
			}
		case err := <-fs.end:
			return err
		case <-s.Context().Done():
			return nil
		}
	}
}

// startFake serves the fake over an in-memory listener and returns a client connected to it.
func startFake(t *testing.T, opts ...weft.Option) (*fakeContextService, *weft.Client) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	fake := &fakeContextService{streams: make(chan *fakeStream, 10)}
	weftv1.RegisterContextServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///fake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	ok(t, err)
	c, err := weft.Connect(context.Background(), append([]weft.Option{weft.WithConn(conn), weft.WithLogger(quiet()),
		weft.WithClientID("fake-client"), fastReconnect()}, opts...)...)
	ok(t, err)
	t.Cleanup(func() {
		_ = c.Close()
		_ = conn.Close()
		srv.Stop()
	})
	return fake, c
}

func (f *fakeContextService) nextStream(t *testing.T) *fakeStream {
	t.Helper()
	select {
	case s := <-f.streams:
		return s
	case <-time.After(wait):
		t.Fatal("the client opened no Publish stream")
		return nil
	}
}

// read collects requests until they hold `events` events.
func (s *fakeStream) read(t *testing.T, events int) []*weftv1.PublishRequest {
	t.Helper()
	var got []*weftv1.PublishRequest
	n := 0
	for n < events {
		select {
		case r, open := <-s.requests:
			if !open {
				t.Fatalf("stream ended after %d of %d events", n, events)
			}
			got = append(got, r)
			n += len(r.GetEvents())
		case <-time.After(wait):
			t.Fatalf("received %d of %d events", n, events)
		}
	}
	return got
}

func lastBatchSeq(reqs []*weftv1.PublishRequest) uint64 {
	return reqs[len(reqs)-1].GetBatchSeq()
}

func TestPublisherBoundCoversUnacknowledgedEvents(t *testing.T) {
	fake, c := startFake(t, weft.WithBufferCapacity(10))
	obj := must[*weft.Context](t)(c.Context("app.bound", nil))
	for i := range 29 {
		ok(t, obj.Set("i", i))
	}
	stream := fake.nextStream(t)
	reqs := stream.read(t, 10) // all ten were sent...
	if c.Pending() != 10 || c.Dropped() != 20 {
		t.Fatalf("pending %d dropped %d; want 10 held until acknowledged and 20 dropped", c.Pending(), c.Dropped())
	}
	if reqs[0].GetClientId() != "fake-client" {
		t.Errorf("first request's client id %q", reqs[0].GetClientId())
	}
	stream.responses <- &weftv1.PublishResponse{Accepted: 10, LastBatchSeq: lastBatchSeq(reqs)}
	poll(t, wait, "pending 0 after the ack", func() bool { return c.Pending() == 0 })
}

func TestPublisherResendsWhatWasNotAcknowledged(t *testing.T) {
	fake, c := startFake(t)
	obj := must[*weft.Context](t)(c.Context("app.resend", nil, weft.ID("o-1")))
	ok(t, obj.Set("a", 1))
	first := fake.nextStream(t)
	sent := first.read(t, 2)
	first.end <- status.Error(codes.Unavailable, "daemon going away") // no ack

	second := fake.nextStream(t)
	again := second.read(t, 2)
	if again[0].GetClientId() != "fake-client" || again[0].GetBatchSeq() != 1 {
		t.Errorf("new stream starts with client id %q batch %d", again[0].GetClientId(), again[0].GetBatchSeq())
	}
	seqs := func(reqs []*weftv1.PublishRequest) (out []uint64) {
		for _, r := range reqs {
			for _, e := range r.GetEvents() {
				if e.GetId() != "o-1" {
					t.Errorf("event of %q", e.GetId())
				}
				out = append(out, e.GetSeq())
			}
		}
		return out
	}
	if a, b := seqs(sent), seqs(again); len(a) != 2 || len(b) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Errorf("sent seqs %v, resent %v", a, b)
	}
	if c.Pending() != 2 {
		t.Errorf("pending %d before the ack", c.Pending())
	}
	second.responses <- &weftv1.PublishResponse{Accepted: 2, LastBatchSeq: lastBatchSeq(again)}
	poll(t, wait, "pending 0", func() bool { return c.Pending() == 0 })
}

func TestPublisherFlushAndCounters(t *testing.T) {
	fake, c := startFake(t)
	obj := must[*weft.Context](t)(c.Context("app.flush", nil))
	stream := fake.nextStream(t)
	stream.read(t, 1)

	flushed := make(chan error, 1)
	go func() { flushed <- c.Flush(context.Background()) }()
	var token *weftv1.PublishRequest
	select {
	case token = <-stream.requests:
	case <-time.After(wait):
		t.Fatal("no flush token sent")
	}
	if token.GetFlushToken() == 0 || len(token.GetEvents()) != 0 || token.GetBatchSeq() != 1 {
		t.Fatalf("flush request %v: want a token repeating batch 1", token)
	}
	stream.responses <- &weftv1.PublishResponse{Accepted: 1, Rejected: 2, Dropped: 3, LastBatchSeq: 1,
		FlushedToken: token.GetFlushToken(), FlushComplete: false}
	select {
	case err := <-flushed:
		if !errors.Is(err, weft.ErrFlushIncomplete) {
			t.Errorf("Flush: %v, want ErrFlushIncomplete", err)
		}
	case <-time.After(wait):
		t.Fatal("Flush did not return")
	}
	if c.Rejected() != 2 || c.DroppedByDaemon() != 3 {
		t.Errorf("rejected %d dropped by daemon %d", c.Rejected(), c.DroppedByDaemon())
	}

	ok(t, obj.Set("b", 2))
	stream.read(t, 1)
	go func() { flushed <- c.Flush(context.Background()) }()
	token = <-stream.requests
	stream.responses <- &weftv1.PublishResponse{Accepted: 2, LastBatchSeq: 2, FlushedToken: token.GetFlushToken(), FlushComplete: true}
	if err := <-flushed; err != nil {
		t.Errorf("Flush: %v", err)
	}

	t.Run("a flush whose caller gave up is not sent after a reconnect", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { flushed <- c.Flush(ctx) }()
		abandoned := <-stream.requests
		cancel()
		if err := <-flushed; !errors.Is(err, context.Canceled) {
			t.Fatalf("Flush: %v", err)
		}
		stream.end <- status.Error(codes.Unavailable, "bye")
		next := fake.nextStream(t)
		go func() { flushed <- c.Flush(context.Background()) }()
		r := <-next.requests
		if r.GetFlushToken() == abandoned.GetFlushToken() {
			t.Fatal("the abandoned flush token was sent again")
		}
		next.responses <- &weftv1.PublishResponse{FlushedToken: r.GetFlushToken(), FlushComplete: true}
		if err := <-flushed; err != nil {
			t.Errorf("Flush: %v", err)
		}
	})
}
