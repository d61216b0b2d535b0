package weft

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The shared SDK address rules (DESIGN §9).
const (
	// EnvAddr names the environment variable that says where weftd listens:
	// "unix:///abs/path" or "host:port".
	EnvAddr = "WEFT_ADDR"
	// SystemSocket is the system-wide daemon's socket.
	SystemSocket = "/run/weft/weftd.sock"
	// DefaultTCP is where weftd listens on TCP by default.
	DefaultTCP = "127.0.0.1:7311"
	unixScheme = "unix://"
)

// resolveAddress applies the rules: WEFT_ADDR when set; else the user socket
// $XDG_RUNTIME_DIR/weft/weftd.sock if it exists; else the system socket if it exists; else
// 127.0.0.1:7311. getenv and exists are the process environment and file system in use.
func resolveAddress(getenv func(string) string, exists func(string) bool) (string, error) {
	if explicit := strings.TrimSpace(getenv(EnvAddr)); explicit != "" {
		return parseAddress(explicit)
	}
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" && filepath.IsAbs(dir) {
		if user := filepath.Join(dir, "weft", "weftd.sock"); exists(user) {
			return unixScheme + user, nil
		}
	}
	if exists(SystemSocket) {
		return unixScheme + SystemSocket, nil
	}
	return DefaultTCP, nil
}

// parseAddress checks "unix:///abs/path" or "host:port" and returns it as a gRPC target.
func parseAddress(address string) (string, error) {
	if path, ok := strings.CutPrefix(address, unixScheme); ok {
		if !strings.HasPrefix(path, "/") || len(path) < 2 {
			return "", badAddress(address, "a unix address needs an absolute path: unix:///abs/path")
		}
		return address, nil
	}
	colon := strings.LastIndexByte(address, ':')
	if colon <= 0 || colon == len(address)-1 {
		return "", badAddress(address, "expected unix:///abs/path or host:port")
	}
	port, err := strconv.Atoi(address[colon+1:])
	if err != nil {
		return "", badAddress(address, "port is not a number")
	}
	if port < 1 || port > 65535 {
		return "", badAddress(address, "port out of range")
	}
	return address, nil
}

func badAddress(address, why string) error {
	return invalid(ErrInvalidArgument, "%s %q: %s", EnvAddr, address, why)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
