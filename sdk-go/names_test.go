package weft

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestValidateRoutingKey(t *testing.T) {
	for _, key := range []string{"a", "shop.checkout", "A-b_c.9", strings.Repeat("a", 255)} {
		t.Run("accepts "+key[:min(len(key), 20)], func(t *testing.T) {
			if err := validateRoutingKey(key); err != nil {
				t.Errorf("%q: %v", key, err)
			}
		})
	}
	for _, key := range []string{"", ".", "a.", ".a", "a..b", "a b", "a/b", "é", "a.*", "a.#", strings.Repeat("a", 256)} {
		t.Run("refuses "+key[:min(len(key), 20)], func(t *testing.T) {
			err := validateRoutingKey(key)
			if !errors.Is(err, ErrInvalidRoutingKey) {
				t.Errorf("%q: got %v, want ErrInvalidRoutingKey", key, err)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	cases := map[string]bool{
		"order-1":                  true,
		"é":                        true,
		strings.Repeat("x", 128):   true,
		"":                         false,
		strings.Repeat("x", 129):   false,
		"a\nb":                     false,
		"a\u0085b":                 false, // a C1 control character
		"\xff":                     false,
		"with space and / slashes": true,
	}
	for id, want := range cases {
		t.Run(id[:min(len(id), 20)], func(t *testing.T) {
			if got := validID(id); got != want {
				t.Errorf("validID(%q) = %v, want %v", id, got, want)
			}
		})
	}
}

func TestValidateHeader(t *testing.T) {
	t.Run("accepts an empty value", func(t *testing.T) {
		if err := validateHeader("env", ""); err != nil {
			t.Error(err)
		}
	})
	for name, kv := range map[string][2]string{
		"empty name":         {"", "v"},
		"long name":          {strings.Repeat("n", 256), "v"},
		"control in name":    {"a\tb", "v"},
		"long value":         {"n", strings.Repeat("v", 4097)},
		"control in value":   {"n", "a\x00"},
		"invalid UTF-8 name": {"\xfe", "v"},
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			if err := validateHeader(kv[0], kv[1]); !errors.Is(err, ErrInvalidHeader) {
				t.Errorf("got %v, want ErrInvalidHeader", err)
			}
		})
	}
}

func TestNewUUID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newUUID()
		if !v4.MatchString(id) {
			t.Fatalf("%q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("%q twice", id)
		}
		seen[id] = true
	}
}

func TestEnumNames(t *testing.T) {
	cases := []struct{ got, want string }{
		{StateLive.String(), "live"},
		{StateExpired.String(), "expired"},
		{State(99).String(), "99"},
		{KindTransient.String(), "transient"},
		{KindBorn.String(), "born"},
		{LevelWarning.String(), "WARNING"},
		{Level(0).String(), "UNSPECIFIED"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
