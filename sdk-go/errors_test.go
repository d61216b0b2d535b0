package weft

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestFromRPC(t *testing.T) {
	t.Run("reason and metadata from weftd's ErrorInfo", func(t *testing.T) {
		st, err := status.New(codes.NotFound, "no object x").WithDetails(
			&errdetails.ErrorInfo{Domain: "weft", Reason: "UNKNOWN_OBJECT", Metadata: map[string]string{"id": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		got := fromRPC(context.Background(), st.Err())
		var e *Error
		if !errors.As(got, &e) {
			t.Fatalf("%T is not an *Error", got)
		}
		if !errors.Is(got, ErrUnknownObject) || e.Code != codes.NotFound || e.Metadata["id"] != "x" || e.Message != "no object x" {
			t.Errorf("got %+v", e)
		}
		if s, _ := status.FromError(got); s.Code() != codes.NotFound {
			t.Errorf("status.FromError reads %v", s.Code())
		}
		if got.Error() != "weft: UNKNOWN_OBJECT: no object x" {
			t.Errorf("message %q", got.Error())
		}
	})
	t.Run("ErrorInfo of another domain is not a weft reason", func(t *testing.T) {
		st, _ := status.New(codes.Internal, "boom").WithDetails(&errdetails.ErrorInfo{Domain: "other", Reason: "X"})
		if got := fromRPC(context.Background(), st.Err()); !errors.Is(got, Reason("INTERNAL")) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("transport failure: the code's canonical name", func(t *testing.T) {
		got := fromRPC(context.Background(), status.Error(codes.Unavailable, "connection refused"))
		if !errors.Is(got, ErrUnavailable) || errors.Is(got, ErrCancelled) {
			t.Errorf("got %v", got)
		}
		if got := fromRPC(context.Background(), status.Error(codes.Canceled, "x")); !errors.Is(got, ErrCancelled) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("an ended context is wrapped", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got := fromRPC(ctx, status.Error(codes.Canceled, "context canceled"))
		if !errors.Is(got, context.Canceled) || !errors.Is(got, ErrCancelled) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("wraps the status error", func(t *testing.T) {
		cause := status.Error(codes.Unavailable, "x")
		if got := fromRPC(context.Background(), cause); !errors.Is(got, cause) {
			t.Errorf("%v does not wrap %v", got, cause)
		}
	})
}

func TestContextError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	err := contextError(ctx, "flush")
	if !errors.Is(err, ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v", err)
	}
}
