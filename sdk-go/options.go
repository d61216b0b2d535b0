package weft

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc"
)

// Option configures Connect. Every option has a default.
type Option func(*config) error

type config struct {
	address          string
	conn             *grpc.ClientConn
	dialOptions      []grpc.DialOption
	bufferCapacity   int
	maxBatchEvents   int
	maxEventBytes    int
	clientID         string
	waitOnClose      time.Duration
	initialBackoff   time.Duration
	maxBackoff       time.Duration
	callTimeout      time.Duration
	statsInterval    time.Duration
	statsQueueCap    int
	maxCallsInFlight int
	channelBuffer    int
	logger           *slog.Logger
	getenv           func(string) string
	exists           func(string) bool
}

// maxBatchBytes: a batch stops growing past this many bytes (plus one event), far below
// gRPC's default 4 MiB message limit.
const maxBatchBytes = 1 << 20

// maxEventBytesLimit keeps one event plus a full batch under gRPC's 4 MiB message limit.
const maxEventBytesLimit = 3 << 20

func defaultConfig() config {
	return config{
		bufferCapacity:   10_000,
		maxBatchEvents:   512,
		maxEventBytes:    1 << 20,
		initialBackoff:   50 * time.Millisecond,
		maxBackoff:       5 * time.Second,
		callTimeout:      10 * time.Second,
		statsInterval:    100 * time.Millisecond,
		statsQueueCap:    10_000,
		maxCallsInFlight: 1024,
		channelBuffer:    1024,
		getenv:           os.Getenv,
		exists:           fileExists,
	}
}

// WithAddress sets the daemon address, "unix:///abs/path" or "host:port", instead of the
// WEFT_ADDR rules.
func WithAddress(address string) Option {
	return func(c *config) error {
		target, err := parseAddress(address)
		c.address = target
		return err
	}
}

// WithConn uses a connection of the caller's (e.g. with TLS or a custom dialer) instead of an
// address. Close does not close it.
func WithConn(conn *grpc.ClientConn) Option {
	return func(c *config) error {
		if conn == nil {
			return invalid(ErrInvalidArgument, "WithConn: nil connection")
		}
		c.conn = conn
		return nil
	}
}

// WithDialOptions adds gRPC dial options to the connection the client opens (ignored with
// WithConn).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) error {
		c.dialOptions = append(c.dialOptions, opts...)
		return nil
	}
}

// WithBufferCapacity bounds the events the client holds, queued or sent and not yet
// acknowledged by weftd (default 10,000). Past it, new events are dropped and counted.
func WithBufferCapacity(events int) Option {
	return func(c *config) error {
		c.bufferCapacity = events
		return positive("WithBufferCapacity", events)
	}
}

// WithMaxBatchEvents bounds the events per batch on the stream (default 512).
func WithMaxBatchEvents(events int) Option {
	return func(c *config) error {
		c.maxBatchEvents = events
		return positive("WithMaxBatchEvents", events)
	}
}

// WithMaxEventBytes sets the encoded size above which an event is not sent but counted in
// Rejected (default 1 MiB, weftd's default limit; at most 3 MiB).
func WithMaxEventBytes(bytes int) Option {
	return func(c *config) error {
		c.maxEventBytes = bytes
		if bytes > maxEventBytesLimit {
			return invalid(ErrInvalidArgument, "WithMaxEventBytes: %d is over the limit of %d", bytes, maxEventBytesLimit)
		}
		return positive("WithMaxEventBytes", bytes)
	}
}

// WithClientID sets the name weftd knows this client by: 1 to 128 bytes without control
// characters. Default "go-<pid>-<random>".
func WithClientID(id string) Option {
	return func(c *config) error {
		if !validID(id) {
			return invalid(ErrInvalidArgument, "client id must be 1 to %d bytes without control characters: %q", maxIDBytes, id)
		}
		c.clientID = id
		return nil
	}
}

// WithWaitOnClose makes Close flush for at most this long first (default 0: no wait; events
// not delivered yet are abandoned).
func WithWaitOnClose(timeout time.Duration) Option {
	return func(c *config) error {
		c.waitOnClose = timeout
		return nonNegative("WithWaitOnClose", timeout)
	}
}

// WithReconnectBackoff sets the reconnect delay of the publisher, the statistics, gRPC's
// connection and a Server registering its endpoint again: it starts at initial and doubles per
// failure up to max (default 50 ms to 5 s).
func WithReconnectBackoff(initial, max time.Duration) Option {
	return func(c *config) error {
		c.initialBackoff, c.maxBackoff = initial, max
		if initial <= 0 || max < initial {
			return invalid(ErrInvalidArgument, "WithReconnectBackoff: need 0 < initial <= max, got %v and %v", initial, max)
		}
		return nil
	}
}

// WithCallTimeout bounds GetObject, each ListObjects page, Stats.Snapshot, Stats.SetEnabled,
// a Serve registration, and every Call whose context has no deadline (default 10 s).
func WithCallTimeout(timeout time.Duration) Option {
	return func(c *config) error {
		c.callTimeout = timeout
		if timeout <= 0 {
			return invalid(ErrInvalidArgument, "WithCallTimeout: must be positive, got %v", timeout)
		}
		return nil
	}
}

// WithStatsInterval sets how often the statistics goroutine sends what changed (default
// 100 ms): the longer, the more increments are coalesced into one op.
func WithStatsInterval(interval time.Duration) Option {
	return func(c *config) error {
		c.statsInterval = interval
		if interval <= 0 {
			return invalid(ErrInvalidArgument, "WithStatsInterval: must be positive, got %v", interval)
		}
		return nil
	}
}

// WithStatsQueueCapacity bounds the statistics ops queued and not yet sent (Put, Append,
// Remove, Derive, and the coalesced scalar changes ahead of them; default 10,000). Past it,
// new ops are dropped and counted in Stats.Dropped.
func WithStatsQueueCapacity(ops int) Option {
	return func(c *config) error {
		c.statsQueueCap = ops
		return positive("WithStatsQueueCapacity", ops)
	}
}

// WithMaxCallsInFlight bounds the calls this client has in flight at once (Call, CallAsync,
// InParallel; default 1,024). Past it, a call fails at once with ErrQueueFull.
func WithMaxCallsInFlight(calls int) Option {
	return func(c *config) error {
		c.maxCallsInFlight = calls
		return positive("WithMaxCallsInFlight", calls)
	}
}

// WithChannelBuffer bounds the messages and ends this client's receivers hold, together, not
// yet received (default 1,024). While it is full the client takes nothing more from weftd, whose
// bounded queue for the client then fills: its senders are told (Sender.Undelivered).
func WithChannelBuffer(items int) Option {
	return func(c *config) error {
		c.channelBuffer = items
		return positive("WithChannelBuffer", items)
	}
}

// WithLogger sets where the client logs (an outage and the reconnection at info level, each
// event refused at debug level). Default slog.Default().
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) error {
		if logger == nil {
			return invalid(ErrInvalidArgument, "WithLogger: nil logger")
		}
		c.logger = logger
		return nil
	}
}

func positive(name string, n int) error {
	if n < 1 {
		return invalid(ErrInvalidArgument, "%s: must be positive, got %d", name, n)
	}
	return nil
}

func nonNegative(name string, d time.Duration) error {
	if d < 0 {
		return invalid(ErrInvalidArgument, "%s: must not be negative, got %v", name, d)
	}
	return nil
}

func defaultClientID() string {
	return fmt.Sprintf("go-%d-%s", os.Getpid(), newUUID()[:8])
}
