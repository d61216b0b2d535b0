package weft_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
	"github.com/weft-dev/weft/sdk-go/internal/daemontest"
)

// wait bounds every wait for the daemon in these tests: generous, because the machine is
// shared; the tests poll and return as soon as the condition holds.
const wait = 30 * time.Second

var (
	sharedOnce   sync.Once
	sharedDaemon *daemontest.Daemon
	sharedErr    error
	keyCounter   atomic.Int64
)

// TestMain stops the shared weftd (started on first use) after the tests. Re-executed with
// envServeChild or envReceiveChild set, the test binary is instead a separate serving
// (serveChild) or receiving (receiveChild) process.
func TestMain(m *testing.M) {
	if os.Getenv(envServeChild) != "" {
		serveChild()
		return
	}
	if os.Getenv(envReceiveChild) != "" {
		receiveChild()
		return
	}
	code := m.Run()
	if sharedDaemon != nil {
		if err := sharedDaemon.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		sharedDaemon.Close()
	}
	os.Exit(code)
}

// shared is one real weftd for the tests that do not stop or restart theirs.
func shared(t testing.TB) *daemontest.Daemon {
	t.Helper()
	sharedOnce.Do(func() { sharedDaemon, sharedErr = daemontest.Start() })
	if sharedErr != nil {
		t.Fatalf("starting weftd: %v", sharedErr)
	}
	return sharedDaemon
}

// startOwn starts a weftd for one test, stopped when it ends.
func startOwn(t *testing.T, env ...string) *daemontest.Daemon {
	t.Helper()
	d, err := daemontest.Start(env...)
	if err != nil {
		t.Fatalf("starting weftd: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// quiet is a logger for clients under test; set WEFT_TEST_LOG=1 to see their logs.
func quiet() *slog.Logger {
	if os.Getenv("WEFT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// connect opens a client to address, closed when the test ends.
func connect(t testing.TB, address string, opts ...weft.Option) *weft.Client {
	t.Helper()
	all := append([]weft.Option{weft.WithAddress(address), weft.WithLogger(quiet())}, opts...)
	c, err := weft.Connect(context.Background(), all...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// key is a routing key no other test uses.
func key(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	return fmt.Sprintf("go.%s.k%d", name, keyCounter.Add(1))
}

func flush(t testing.TB, c *weft.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v (pending %d)", err, c.Pending())
	}
}

// poll waits until cond holds, failing the test after timeout.
func poll(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func getObject(t testing.TB, c *weft.Client, id string, opts ...weft.ViewOption) *weft.Object {
	t.Helper()
	o, err := c.GetObject(context.Background(), id, opts...)
	if err != nil {
		t.Fatalf("GetObject(%s): %v", id, err)
	}
	return o
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
