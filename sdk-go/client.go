// Package weft is the Go SDK of Weft: it publishes context objects and statistics (Stats) to
// the local weftd without ever blocking or failing the application, reads the daemon's
// collated views back, serves and calls functions through weftd (Serve, Call, CallAsync,
// Select, InParallel), and carries channels (OpenReceiver, Sender).
//
//	client, err := weft.Connect(ctx)              // WEFT_ADDR, else the local sockets, else 127.0.0.1:7311
//	if err != nil { ... }                         // only for bad options or a malformed address
//	defer client.Close()
//
//	obj, err := client.Context("shop.checkout", weft.Fields{"url": url})
//	if err != nil { ... }                         // only for bad input
//	defer obj.Close()                             // FINISHED; weftd computes elapsed
//	obj.Set("status", 200)
//
// Publishing never blocks and never fails because weftd is absent or slow: events go to a
// bounded buffer (10,000 by default, counting events sent but not yet acknowledged) drained
// by one background goroutine that streams batches and reconnects with backoff; when the
// buffer is full the newest events are dropped and counted (Dropped). Flush waits until what
// was published reached every sink of the daemon.
package weft

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// Client is a connection to weftd. It is safe for concurrent use: share one per process.
type Client struct {
	cfg       config
	target    string
	clientID  string
	conn      *grpc.ClientConn
	ownsConn  bool
	buf       *eventBuffer
	pub       *publisher
	views     weftv1.ViewServiceClient
	calls     weftv1.CallServiceClient
	callSlots callSlots
	chans     *channels
	stats     *Stats
	serversMu sync.Mutex // guards stats, servers and closed
	servers   map[*Server]struct{}
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

// Connect creates a client and starts its background publisher. It does not wait for the
// daemon: it succeeds whether or not weftd is running (publishing buffers and reconnects in
// the background). It fails only for bad options, a malformed address (*Error with
// ErrInvalidArgument), or a ctx that has already ended.
//
// The address follows WEFT_ADDR ("unix:///abs/path" or "host:port"); unset, the user socket
// $XDG_RUNTIME_DIR/weft/weftd.sock if it exists, then the system socket /run/weft/weftd.sock if
// it exists, then 127.0.0.1:7311. WithAddress or WithConn override it.
func Connect(ctx context.Context, opts ...Option) (*Client, error) {
	if ctx.Err() != nil {
		return nil, contextError(ctx, "connect")
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	c := &Client{cfg: cfg, clientID: cfg.clientID}
	if c.clientID == "" {
		c.clientID = defaultClientID()
	}
	if cfg.conn != nil {
		c.conn, c.target = cfg.conn, cfg.conn.Target()
	} else {
		target := cfg.address
		if target == "" {
			var err error
			if target, err = resolveAddress(cfg.getenv, cfg.exists); err != nil {
				return nil, err
			}
		}
		conn, err := grpc.NewClient(grpcTarget(target), dialOptions(&cfg)...)
		if err != nil {
			return nil, invalid(ErrInvalidArgument, "cannot open a connection to %s: %v", target, err)
		}
		c.conn, c.target, c.ownsConn = conn, target, true
	}
	c.buf = newEventBuffer(cfg.bufferCapacity)
	c.pub = newPublisher(&cfg, c.buf, c.conn, c.clientID, c.target)
	c.views = weftv1.NewViewServiceClient(c.conn)
	c.calls = weftv1.NewCallServiceClient(c.conn)
	c.callSlots = make(callSlots, cfg.maxCallsInFlight)
	c.servers = map[*Server]struct{}{}
	c.chans = newChannels(c)
	c.pub.start()
	return c, nil
}

// grpcTarget names the resolver explicitly: "host:port" alone could read as a URL scheme.
func grpcTarget(address string) string {
	if strings.HasPrefix(address, unixScheme) {
		return address
	}
	return "dns:///" + address
}

// dialOptions give gRPC's reconnect backoff the client's settings, so that the publisher's
// attempts (which fail fast while gRPC waits to reconnect) find the connection back within
// about the same delay. (ClientConn.ResetConnectBackoff would reconnect at once, but in
// grpc-go 1.85 it reads the connection set without its lock: a data race.)
// minConnectTimeout is the shortest time a connection attempt is given.
const minConnectTimeout = 5 * time.Second

func dialOptions(cfg *config) []grpc.DialOption {
	bo := backoff.DefaultConfig
	bo.BaseDelay, bo.MaxDelay = cfg.initialBackoff, cfg.maxBackoff
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// A handshake gets at least minConnectTimeout, however short the backoff: a daemon busy starting
		// (JIT, a loaded host) can take longer than a 200 ms backoff to answer.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: max(cfg.maxBackoff, minConnectTimeout)}),
	}
	return append(opts, cfg.dialOptions...)
}

// Flush waits until every event published before it has reached every sink of weftd. It
// returns nil when it did; an *Error with ErrDeadlineExceeded or ErrCancelled (wrapping
// ctx.Err()) when ctx ended first (the daemon is absent or slow); ErrFlushIncomplete when
// weftd gave up on a sink; ErrClosed when the client is closed.
func (c *Client) Flush(ctx context.Context) error {
	return c.pub.flush(ctx)
}

// Dropped counts events this client dropped because its buffer was full or it was closed.
func (c *Client) Dropped() uint64 { return c.buf.dropped.Load() }

// Rejected counts events refused as invalid: by weftd (reported in its acks, each logged at
// debug level with its reason) or by this client (larger than WithMaxEventBytes).
func (c *Client) Rejected() uint64 { return c.pub.rejected.Load() }

// DroppedByDaemon counts events weftd received from this client but dropped because its own
// queue was full.
func (c *Client) DroppedByDaemon() uint64 { return c.pub.droppedByDaemon.Load() }

// Pending is the number of events this client holds: queued, or sent and not yet
// acknowledged (at most WithBufferCapacity). Zero once everything was acknowledged.
func (c *Client) Pending() int { return int(c.buf.held.Load()) }

// Address is the daemon address in use, e.g. "unix:///run/weft/weftd.sock".
func (c *Client) Address() string { return c.target }

// ClientID is the name this client publishes under (weftd reports its streams by it).
func (c *Client) ClientID() string { return c.clientID }

// Close closes the servers and the channel stream (weftd closes its receivers, failing their
// senders, and ends the channels its senders did not close: abrupt), stops the background
// publisher and statistics, and closes the connection (unless it came from WithConn). With
// WithWaitOnClose it first flushes events and statistics for at most that long each;
// otherwise what was not delivered yet is abandoned.
// Publishing and recording afterwards only count drops. Idempotent; the error is the
// connection's.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.serversMu.Lock()
		c.closed = true
		servers := make([]*Server, 0, len(c.servers))
		for s := range c.servers {
			servers = append(servers, s)
		}
		c.serversMu.Unlock()
		for _, s := range servers {
			_ = s.Close()
		}
		c.chans.shutdown()
		c.serversMu.Lock()
		stats := c.stats
		c.serversMu.Unlock()
		if stats != nil {
			stats.close(c.cfg.waitOnClose)
		}
		if c.cfg.waitOnClose > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.waitOnClose)
			if err := c.pub.flush(ctx); err != nil {
				c.cfg.logger.Info("weft: closing without delivering everything", "error", err, "pending", c.Pending())
			}
			cancel()
		}
		c.pub.stop()
		if c.ownsConn {
			c.closeErr = c.conn.Close()
		}
	})
	return c.closeErr
}

func (c *Client) addServer(s *Server) bool {
	c.serversMu.Lock()
	defer c.serversMu.Unlock()
	if c.closed {
		return false
	}
	c.servers[s] = struct{}{}
	return true
}

func (c *Client) removeServer(s *Server) {
	c.serversMu.Lock()
	delete(c.servers, s)
	c.serversMu.Unlock()
}

// String shows the address and client id.
func (c *Client) String() string {
	return "weft.Client{" + c.target + ", client " + c.clientID + "}"
}
