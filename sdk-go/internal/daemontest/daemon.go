// Package daemontest runs a real weftd for tests and benchmarks: the launcher the Maven build
// leaves in daemon/target/weftd (or $WEFTD), in a fresh temp dir, on a unix socket only.
package daemontest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// EnvLauncher overrides the weftd launcher's path.
const EnvLauncher = "WEFTD"

// ReadyTimeout bounds the wait for the daemon's msg=ready line (a JVM on a busy 2-core machine).
const ReadyTimeout = 60 * time.Second

var counter atomic.Int64

// Daemon is one weftd process (or one that has not been launched yet).
type Daemon struct {
	dir    string
	socket string
	env    []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	output bytes.Buffer
	exited chan struct{}
}

// Launcher is the weftd launcher in use: $WEFTD, else daemon/target/weftd of this repository.
func Launcher() (string, error) {
	if p := os.Getenv(EnvLauncher); p != "" {
		return p, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("daemontest: cannot locate the repository")
	}
	// file is <repo>/sdk-go/internal/daemontest/daemon.go
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "daemon", "target", "weftd")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("daemontest: no weftd launcher at %s (build it with mvn -DskipTests package, or set %s): %w", p, EnvLauncher, err)
	}
	return filepath.Clean(p), nil
}

// New prepares a daemon in a fresh temp dir without launching it: Address is known at once.
// extraEnv entries are "NAME=value".
func New(extraEnv ...string) (*Daemon, error) {
	dir, err := os.MkdirTemp("", "weftd-go-") // short: unix socket paths are limited to 107 bytes
	if err != nil {
		return nil, err
	}
	d := &Daemon{dir: dir, socket: filepath.Join(dir, "weftd.sock")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEFT_") {
			d.env = append(d.env, kv)
		}
	}
	d.env = append(d.env,
		"WEFT_SOCKET="+d.socket,
		"WEFT_LISTEN=off",
		"WEFT_HTTP=off",
		fmt.Sprintf("WEFT_DAEMON_ID=go-test-%d", counter.Add(1)))
	d.env = append(d.env, extraEnv...)
	return d, nil
}

// Start prepares and launches a daemon and waits for it to be ready.
func Start(extraEnv ...string) (*Daemon, error) {
	d, err := New(extraEnv...)
	if err != nil {
		return nil, err
	}
	if err := d.Launch(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Address is the daemon's socket as a WEFT_ADDR value: unix:///abs/path.
func (d *Daemon) Address() string { return "unix://" + d.socket }

// Launch starts the process and waits (at most ReadyTimeout) for its msg=ready line.
func (d *Daemon) Launch() error {
	launcher, err := Launcher()
	if err != nil {
		return err
	}
	cmd := exec.Command(launcher)
	cmd.Dir = d.dir
	cmd.Env = d.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("daemontest: starting %s: %w", launcher, err)
	}
	ready := make(chan struct{})
	exited := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.exited = cmd, exited
	d.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			d.mu.Lock()
			d.output.WriteString(line + "\n")
			d.mu.Unlock()
			if !signalled && strings.Contains(line, "msg=ready") {
				signalled = true
				close(ready)
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case <-ready:
		return nil
	case <-exited:
		return fmt.Errorf("daemontest: weftd exited before it was ready:\n%s", d.Output())
	case <-time.After(ReadyTimeout):
		d.Kill()
		return fmt.Errorf("daemontest: weftd not ready within %v:\n%s", ReadyTimeout, d.Output())
	}
}

// Output is everything the daemon printed so far.
func (d *Daemon) Output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.output.String()
}

// Stop sends SIGTERM (weftd drains, then exits) and waits at most 30 s, then kills.
func (d *Daemon) Stop() error {
	return d.signal(syscall.SIGTERM, 30*time.Second)
}

// Pause freezes the daemon (SIGSTOP): its sockets stay open but nothing is read or answered,
// like a daemon too busy to keep up. Resume lets it go on.
func (d *Daemon) Pause() error { return d.send(syscall.SIGSTOP) }

// Resume continues a paused daemon (SIGCONT).
func (d *Daemon) Resume() error { return d.send(syscall.SIGCONT) }

func (d *Daemon) send(sig syscall.Signal) error {
	d.mu.Lock()
	cmd := d.cmd
	d.mu.Unlock()
	if cmd == nil {
		return errors.New("daemontest: the daemon was never launched")
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// Kill sends SIGKILL and waits for the process to end.
func (d *Daemon) Kill() {
	_ = d.signal(syscall.SIGKILL, 30*time.Second)
}

func (d *Daemon) signal(sig syscall.Signal, wait time.Duration) error {
	d.mu.Lock()
	cmd, exited := d.cmd, d.exited
	d.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig) // its process group
	select {
	case <-exited:
		return nil
	case <-time.After(wait):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		return fmt.Errorf("daemontest: weftd did not exit within %v of %v", wait, sig)
	}
}

// Close stops the daemon if it runs and removes its temp dir.
func (d *Daemon) Close() {
	_ = d.Stop()
	_ = os.RemoveAll(d.dir)
}
