package weft_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	weft "github.com/weft-dev/weft/sdk-go"
	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// A protocol corner a real weftd does not show on demand: a re-registration refused as invalid
// (weftd accepted the same registration before, so it cannot happen unless weftd's rules
// changed across a restart), against an in-process fake CallService.

// refusingCallService accepts the first registration, ends that stream when told, and refuses
// every later registration with INVALID_ARGUMENT.
type refusingCallService struct {
	weftv1.UnimplementedCallServiceServer
	streams chan int
	breakIt chan struct{}
	opened  atomic.Int64
}

func (f *refusingCallService) Serve(s grpc.BidiStreamingServer[weftv1.ServeRequest, weftv1.ServeResponse]) error {
	n := int(f.opened.Add(1))
	f.streams <- n
	if _, err := s.Recv(); err != nil {
		return err
	}
	if n > 1 {
		st, _ := status.New(codes.InvalidArgument, "register.endpoints[0].functions: not any more").
			WithDetails(&errdetails.ErrorInfo{Domain: "weft", Reason: "INVALID_ARGUMENT"})
		return st.Err()
	}
	if err := s.Send(&weftv1.ServeResponse{Msg: &weftv1.ServeResponse_Registered{Registered: &weftv1.Registered{DaemonId: "fake"}}}); err != nil {
		return err
	}
	select {
	case <-f.breakIt:
		return status.Error(codes.Unavailable, "the fake broke the stream")
	case <-s.Context().Done():
		return nil
	}
}

func TestServerEndsWhenReRegistrationIsRefusedAsInvalid(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	fake := &refusingCallService{streams: make(chan int, 100), breakIt: make(chan struct{})}
	weftv1.RegisterCallServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///fake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	ok(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	logs := &logLines{}
	c, err := weft.Connect(context.Background(), weft.WithConn(conn), weft.WithLogger(logs.logger()), fastReconnect())
	ok(t, err)
	t.Cleanup(func() { _ = c.Close() })

	s, err := c.Serve(within(t, wait), "inventory", map[string]weft.Handler{"count": func(context.Context, []any) (any, error) { return 1, nil }})
	ok(t, err)
	if await(t, fake.streams) != 1 || !s.Registered() || s.DaemonID() != "fake" {
		t.Fatalf("registered %v on %q", s.Registered(), s.DaemonID())
	}
	close(fake.breakIt)

	t.Run("the server ends with the refusal", func(t *testing.T) {
		if n := await(t, fake.streams); n != 2 {
			t.Fatalf("stream %d, want the 2nd", n)
		}
		await(t, s.Done())
		if err := s.Err(); !errors.Is(err, weft.ErrInvalidArgument) || status.Code(err) != codes.InvalidArgument {
			t.Errorf("Err: %v, want INVALID_ARGUMENT", err)
		}
		if s.Registered() {
			t.Error("Registered after the server ended")
		}
		if n := logs.count("WARN", "weft: weftd refused to register the endpoint again"); n != 1 {
			t.Errorf("%d warnings, want 1:\n%s", n, logs)
		}
	})
	t.Run("it tries no more", func(t *testing.T) {
		// Done is closed when the serving goroutine (the only one that opens streams) has
		// returned, so no stream can follow the refused one.
		select {
		case n := <-fake.streams:
			t.Fatalf("stream %d opened after the server ended", n)
		default:
		}
		ok(t, s.Close()) // still idempotent and harmless
		if s.Err() == nil {
			t.Error("Close erased why the server ended")
		}
	})
}
