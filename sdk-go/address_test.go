package weft

import (
	"errors"
	"testing"
)

func TestResolveAddress(t *testing.T) {
	const user = "/run/user/1000/weft/weftd.sock"
	cases := []struct {
		name     string
		env      map[string]string
		existing []string
		want     string
	}{
		{"WEFT_ADDR unix", map[string]string{"WEFT_ADDR": "unix:///tmp/w.sock"}, []string{user, SystemSocket}, "unix:///tmp/w.sock"},
		{"WEFT_ADDR host:port, trimmed", map[string]string{"WEFT_ADDR": " localhost:9000 "}, nil, "localhost:9000"},
		{"user socket", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, []string{user, SystemSocket}, "unix://" + user},
		{"user socket missing: system socket", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, []string{SystemSocket}, "unix://" + SystemSocket},
		{"relative XDG_RUNTIME_DIR ignored", map[string]string{"XDG_RUNTIME_DIR": "run"}, []string{"run/weft/weftd.sock"}, DefaultTCP},
		{"nothing: TCP default", nil, nil, DefaultTCP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exists := func(p string) bool {
				for _, e := range tc.existing {
					if e == p {
						return true
					}
				}
				return false
			}
			got, err := resolveAddress(func(k string) string { return tc.env[k] }, exists)
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseAddressRefusesMalformed(t *testing.T) {
	for _, addr := range []string{"unix://relative.sock", "unix://", "unix:///", "localhost", ":7311", "host:", "host:http", "host:0", "host:65536"} {
		t.Run(addr, func(t *testing.T) {
			_, err := parseAddress(addr)
			var e *Error
			if !errors.As(err, &e) || e.Reason != ErrInvalidArgument {
				t.Errorf("got %v, want ErrInvalidArgument", err)
			}
		})
	}
}
