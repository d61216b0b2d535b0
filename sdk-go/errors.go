package weft

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Reason names why something failed: one of weftd's ErrorReason names without the
// ERROR_REASON_ prefix (the google.rpc.ErrorInfo reason the daemon attaches), or, for a
// failure that did not come from weftd (no daemon listening, a broken connection), the
// gRPC status code's canonical name such as "UNAVAILABLE".
//
// A Reason is itself an error, so the constants below are sentinels:
//
//	if errors.Is(err, weft.ErrUnknownObject) { ... }
type Reason string

// Error returns the reason as text, e.g. "weft: UNKNOWN_OBJECT".
func (r Reason) Error() string { return "weft: " + string(r) }

// The reasons of weftd's ErrorReason enum (proto/weft/v1/types.proto), as sentinels.
const (
	ErrInvalidRoutingKey Reason = "INVALID_ROUTING_KEY"
	ErrEventTooLarge     Reason = "EVENT_TOO_LARGE"
	ErrNotJSON           Reason = "NOT_JSON"
	ErrQueueFull         Reason = "QUEUE_FULL"
	ErrUnknownObject     Reason = "UNKNOWN_OBJECT"
	ErrNoRoute           Reason = "NO_ROUTE"
	ErrTargetGone        Reason = "TARGET_GONE"
	ErrPolicyDenied      Reason = "POLICY_DENIED"
	ErrDeadlineExceeded  Reason = "DEADLINE_EXCEEDED"
	ErrCancelled         Reason = "CANCELLED"
	ErrBadExpression     Reason = "BAD_EXPRESSION"
	ErrPeerAuthFailed    Reason = "PEER_AUTH_FAILED"
	ErrTooDeep           Reason = "TOO_DEEP"
	ErrTooManyFields     Reason = "TOO_MANY_FIELDS"
	ErrTooManyHeaders    Reason = "TOO_MANY_HEADERS"
	ErrInvalidID         Reason = "INVALID_ID"
	ErrInvalidKind       Reason = "INVALID_KIND"
	ErrInvalidArgument   Reason = "INVALID_ARGUMENT"
	ErrInvalidPattern    Reason = "INVALID_PATTERN"
	ErrBusUnavailable    Reason = "BUS_UNAVAILABLE"
	ErrTooManyWatchers   Reason = "TOO_MANY_WATCHERS"
	ErrShuttingDown      Reason = "SHUTTING_DOWN"
	ErrInvalidHeader     Reason = "INVALID_HEADER"
	ErrTooManyFlushes    Reason = "TOO_MANY_FLUSHES"
	ErrStatsConflict     Reason = "STATS_CONFLICT"
	ErrStatsFull         Reason = "STATS_FULL"
	ErrCallFailed        Reason = "CALL_FAILED"
	ErrUnknownFunction   Reason = "UNKNOWN_FUNCTION"
	ErrEndpointTaken     Reason = "ENDPOINT_TAKEN"
)

// Reasons for failures that weftd did not describe: gRPC status code names.
const (
	// ErrUnavailable: weftd is not listening at the address, or the connection broke.
	ErrUnavailable Reason = "UNAVAILABLE"
	// ErrFlushIncomplete: weftd answered a flush, but not everything reached every sink
	// within its own time limit (or it began shutting down first).
	ErrFlushIncomplete Reason = "FLUSH_INCOMPLETE"
	// ErrClosed: the client was closed (or the Receiver or Sender used).
	ErrClosed Reason = "CLOSED"
	// ErrChannelEnded: a sender ended its side of a channel (see ChannelEndedError).
	ErrChannelEnded Reason = "END_OF_CHANNEL"
)

// errorDomain is the google.rpc.ErrorInfo domain of weftd's errors.
const errorDomain = "weft"

// Error is the one error type of the SDK: a failure with its Reason, the gRPC status code it
// maps to, and the ErrorInfo metadata weftd attached. It wraps the underlying failure (the
// gRPC status error, a context error) so errors.Is and errors.As see through it, and it
// matches its Reason: errors.Is(err, weft.ErrNotJSON).
type Error struct {
	Reason   Reason
	Code     codes.Code
	Message  string
	Metadata map[string]string
	cause    []error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "weft: " + string(e.Reason)
	}
	return "weft: " + string(e.Reason) + ": " + e.Message
}

// Is reports whether target is this error's Reason.
func (e *Error) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

// Unwrap returns the failures this error wraps (a gRPC status error, a context error).
func (e *Error) Unwrap() []error { return e.cause }

// GRPCStatus lets status.FromError read the gRPC status back from an *Error.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Error()) }

// invalid is bad input refused by the SDK itself, before anything is sent.
func invalid(reason Reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Code: codes.InvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// fromRPC converts the failure of a gRPC call into an *Error: the reason from weftd's
// ErrorInfo when it sent one, else the status code's name. When ctx has ended, the context's
// error is wrapped too, so errors.Is(err, context.DeadlineExceeded) holds.
func fromRPC(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, _ := status.FromError(err)
	e := &Error{Reason: codeReason(st.Code()), Code: st.Code(), Message: st.Message(), cause: []error{err}}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			e.Reason = Reason(info.GetReason())
			e.Metadata = info.GetMetadata()
			break
		}
	}
	if ctx != nil && ctx.Err() != nil {
		e.cause = append(e.cause, ctx.Err())
	}
	return e
}

// codeReason is a status code's canonical name (as grpc-java and the gRPC spec spell it).
func codeReason(c codes.Code) Reason {
	switch c {
	case codes.Canceled:
		return ErrCancelled
	case codes.DeadlineExceeded:
		return ErrDeadlineExceeded
	case codes.InvalidArgument:
		return ErrInvalidArgument
	case codes.Unavailable:
		return ErrUnavailable
	}
	if name, ok := codeNames[c]; ok {
		return name
	}
	return Reason(c.String())
}

var codeNames = map[codes.Code]Reason{
	codes.OK:                 "OK",
	codes.Unknown:            "UNKNOWN",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// contextError is the *Error for an operation that stopped because ctx ended; it wraps
// ctx.Err().
func contextError(ctx context.Context, op string) error {
	err := ctx.Err()
	e := &Error{Reason: ErrCancelled, Code: codes.Canceled, Message: op + ": " + err.Error(), cause: []error{err}}
	if errors.Is(err, context.DeadlineExceeded) {
		e.Reason, e.Code = ErrDeadlineExceeded, codes.DeadlineExceeded
	}
	return e
}
