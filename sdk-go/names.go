package weft

import (
	"crypto/rand"
	"encoding/hex"
	"unicode"
	"unicode/utf8"
)

// weftd's limits on names (daemon/.../EventLimits.java).
const (
	maxRoutingKeyBytes  = 255
	maxIDBytes          = 128
	maxHeaderNameBytes  = 255
	maxHeaderValueBytes = 4096
)

// validateRoutingKey checks dot-separated words of [A-Za-z0-9_-], 1 to 255 bytes.
func validateRoutingKey(key string) error {
	if key == "" || len(key) > maxRoutingKeyBytes {
		return invalid(ErrInvalidRoutingKey, "routing key %q must be 1 to %d bytes", key, maxRoutingKeyBytes)
	}
	wordStart := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '.':
			if wordStart {
				return invalid(ErrInvalidRoutingKey, "routing key %q has an empty word", key)
			}
			wordStart = true
		case isWordByte(c):
			wordStart = false
		default:
			r, _ := utf8.DecodeRuneInString(key[i:])
			return invalid(ErrInvalidRoutingKey, "routing key %q has %q outside [A-Za-z0-9_-]", key, r)
		}
	}
	if wordStart {
		return invalid(ErrInvalidRoutingKey, "routing key %q has an empty word", key)
	}
	return nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// validID is weftd's rule for object and client ids: 1 to 128 bytes of UTF-8, no control
// characters.
func validID(id string) bool {
	return id != "" && len(id) <= maxIDBytes && utf8.ValidString(id) && !hasControl(id)
}

// validateHeader checks weftd's rule: a name of 1 to 255 bytes, a value of at most 4,096
// bytes, neither with control characters.
func validateHeader(name, value string) error {
	switch {
	case name == "" || len(name) > maxHeaderNameBytes || hasControl(name) || !utf8.ValidString(name):
		return invalid(ErrInvalidHeader, "header name %q must be 1 to %d bytes of UTF-8 without control characters", name, maxHeaderNameBytes)
	case len(value) > maxHeaderValueBytes || hasControl(value) || !utf8.ValidString(value):
		return invalid(ErrInvalidHeader, "header %q: value must be at most %d bytes of UTF-8 without control characters", name, maxHeaderValueBytes)
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux (Go 1.24+: it panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
