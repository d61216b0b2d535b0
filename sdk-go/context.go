package weft

import (
	"maps"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
)

// Level is the level of a Log event (Python logging's names).
type Level int32

// The log levels.
const (
	LevelDebug    = Level(weftv1.LogLevel_LOG_LEVEL_DEBUG)
	LevelInfo     = Level(weftv1.LogLevel_LOG_LEVEL_INFO)
	LevelWarning  = Level(weftv1.LogLevel_LOG_LEVEL_WARNING)
	LevelError    = Level(weftv1.LogLevel_LOG_LEVEL_ERROR)
	LevelCritical = Level(weftv1.LogLevel_LOG_LEVEL_CRITICAL)
)

// String is the level's name as Python's logging spells it: "DEBUG" ... "CRITICAL".
func (l Level) String() string {
	return strings.ToUpper(enumName(weftv1.LogLevel(l).String(), "LOG_LEVEL_"))
}

// Context is a context object: an object whose fields change over its lifetime, published to
// weftd as deltas (born → updated → logged → finished), in the manner of Contexture.
//
//	obj, err := client.Context("shop.checkout", weft.Fields{"url": url})   // BORN
//	if err != nil { ... }                                                   // bad input only
//	defer obj.Close()                                                       // FINISHED
//	obj.Set("status", 200)                                                  // one UPDATE
//	obj.Update(weft.Fields{"bytes": 512, "cached": false})                  // one UPDATE with both
//	obj.Log(weft.LevelInfo, "served {url} with {status}")                   // LOG, rendered here
//	obj.Delete("cached")                                                    // DELETE
//
// Every operation builds one event and hands it to the client's bounded buffer: it never
// blocks and never fails because weftd is absent or slow. It returns an *Error only for bad
// input (a value that is not JSON), and then sends nothing.
//
// Ignored names (Ignore) never leave the SDK: they are not sent, not deleted and not rendered
// in log messages. A *Context used as a field value is sent as its id, which links the two
// objects. Operations after Close do nothing. A Context is safe for concurrent use; its
// events keep the order in which the calls happened.
type Context struct {
	buf    *eventBuffer
	info   *objectInfo
	ignore map[string]struct{}

	mu     sync.Mutex
	fields map[string]value // as sent (ignored names excluded): what templates render from
	seq    uint64
	closed bool
}

// ContextOption configures a new Context.
type ContextOption func(*contextConfig)

type contextConfig struct {
	id        string
	idSet     bool
	ignore    map[string]struct{}
	headers   map[string]string
	transient bool
}

// ID gives the object an id of the caller's (Contexture's guid) instead of a random UUID:
// 1 to 128 bytes without control characters, else ErrInvalidID.
func ID(id string) ContextOption {
	return func(c *contextConfig) { c.id, c.idSet = id, true }
}

// Ignore names fields that never leave the SDK (passwords, secrets, bulky internals).
func Ignore(names ...string) ContextOption {
	return func(c *contextConfig) {
		if c.ignore == nil {
			c.ignore = make(map[string]struct{}, len(names))
		}
		for _, n := range names {
			c.ignore[n] = struct{}{}
		}
	}
}

// Header adds a header, for routing by header match; headers are sent with the birth. A name
// is 1 to 255 bytes and a value at most 4,096, without control characters (else
// ErrInvalidHeader).
func Header(name, value string) ContextOption {
	return func(c *contextConfig) {
		if c.headers == nil {
			c.headers = make(map[string]string)
		}
		c.headers[name] = value
	}
}

// Headers adds several headers, as Header.
func Headers(headers map[string]string) ContextOption {
	return func(c *contextConfig) {
		if c.headers == nil {
			c.headers = make(map[string]string, len(headers))
		}
		maps.Copy(c.headers, headers)
	}
}

// Transient publishes the whole object at once, born and finished (Contexture's
// transient=True): one TRANSIENT event. The Context returned is already closed; its ID links
// to the object.
func Transient() ContextOption {
	return func(c *contextConfig) { c.transient = true }
}

// Context creates a context object with this routing key (dot-separated words of
// [A-Za-z0-9_-], at most 255 bytes; Here derives one from the calling code) and initial
// fields, and publishes its birth: one BORN event carrying the fields and headers (or, with
// Transient, one TRANSIENT event).
//
// It fails, sending nothing, only for bad input: ErrInvalidRoutingKey, ErrInvalidID,
// ErrInvalidHeader, ErrNotJSON, ErrTooDeep. When the buffer is full the birth is dropped and
// counted like any event; the Context works all the same.
func (c *Client) Context(routingKey string, fields Fields, opts ...ContextOption) (*Context, error) {
	if err := validateRoutingKey(routingKey); err != nil {
		return nil, err
	}
	var cfg contextConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	id := cfg.id
	if !cfg.idSet {
		id = newUUID()
	} else if !validID(id) {
		return nil, invalid(ErrInvalidID, "object id must be 1 to %d bytes of UTF-8 without control characters: %q", maxIDBytes, id)
	}
	for name, v := range cfg.headers {
		if err := validateHeader(name, v); err != nil {
			return nil, err
		}
	}
	ctx := &Context{
		buf:    c.buf,
		info:   &objectInfo{id: id, routingKey: routingKey, headers: cfg.headers},
		ignore: cfg.ignore,
	}
	initial, err := ctx.convert(fields)
	if err != nil {
		return nil, err
	}
	ctx.fields = make(map[string]value, len(initial))
	for _, f := range initial {
		ctx.fields[f.name] = f.val
	}
	kind := weftv1.EventKind_EVENT_KIND_BORN
	if cfg.transient {
		kind = weftv1.EventKind_EVENT_KIND_TRANSIENT
		ctx.closed = true
	}
	ctx.seq = 1
	ctx.buf.offer(&event{obj: ctx.info, kind: kind, withHeaders: true, seq: 1, timeNs: clock.nowNs(), more: &eventMore{fields: initial}})
	return ctx, nil
}

// ID is the object's id: a random UUID, or the one given with the ID option.
func (x *Context) ID() string { return x.info.id }

// RoutingKey is the routing key every event of the object carries.
func (x *Context) RoutingKey() string { return x.info.routingKey }

// Headers returns a copy of the headers sent at birth.
func (x *Context) Headers() map[string]string { return maps.Clone(x.info.headers) }

// String shows the routing key and id, e.g. "shop.checkout[1b4e...]".
func (x *Context) String() string { return x.info.routingKey + "[" + x.info.id + "]" }

// Closed reports whether Close sent FINISHED (or the object was transient).
func (x *Context) Closed() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.closed
}

// Set sets one field: one UPDATE event. An ignored name sends nothing. The error is an
// *Error with ErrNotJSON or ErrTooDeep for a value JSON cannot hold.
func (x *Context) Set(name string, v any) error {
	if x.isIgnored(name) {
		return nil
	}
	if !utf8.ValidString(name) {
		return invalid(ErrNotJSON, "field name %q is not valid UTF-8", name)
	}
	val, err := toValue(v)
	if err != nil {
		return fieldError(name, err)
	}
	now := clock.nowNs()
	x.mu.Lock()
	if !x.closed {
		x.fields[name] = val
		x.seq++
		x.buf.offer(&event{obj: x.info, kind: weftv1.EventKind_EVENT_KIND_UPDATE, seq: x.seq, timeNs: now,
			hasField: true, field: namedValue{name: name, val: val}})
	}
	x.mu.Unlock()
	return nil
}

// Update sets several fields in one UPDATE event (ignored names are left out; when none is
// left, nothing is sent).
func (x *Context) Update(fields Fields) error {
	changed, err := x.convert(fields)
	if err != nil || len(changed) == 0 {
		return err
	}
	x.publish(&event{kind: weftv1.EventKind_EVENT_KIND_UPDATE, more: &eventMore{fields: changed}})
	return nil
}

// Log publishes a message rendered with the object's fields: one LOG event. In the template,
// {name} is replaced by the field's value (strings as they are, whole numbers without a
// fraction, structs and lists as JSON); names that are not fields stay as written; doubled
// braces are literal braces. Fields given here (Contexture's keyword arguments) are merged
// first, so the template can use them, and travel in the same event.
func (x *Context) Log(level Level, template string, fields ...Fields) error {
	if level < LevelDebug || level > LevelCritical {
		return invalid(ErrInvalidArgument, "log level %v is not one of LevelDebug..LevelCritical", level)
	}
	if !utf8.ValidString(template) {
		return invalid(ErrNotJSON, "log template is not valid UTF-8")
	}
	var changed []namedValue
	for _, f := range fields {
		more, err := x.convert(f)
		if err != nil {
			return err
		}
		changed = append(changed, more...)
	}
	x.publish(&event{kind: weftv1.EventKind_EVENT_KIND_LOG, level: uint8(level), more: &eventMore{fields: changed, message: template}})
	return nil
}

// Delete removes fields: one DELETE event naming them (ignored names are left out; when none
// is left, nothing is sent).
func (x *Context) Delete(names ...string) {
	deleted := make([]string, 0, len(names))
	for _, n := range names {
		if !x.isIgnored(n) && utf8.ValidString(n) {
			deleted = append(deleted, n)
		}
	}
	if len(deleted) > 0 {
		x.publish(&event{kind: weftv1.EventKind_EVENT_KIND_DELETE, more: &eventMore{deleted: deleted}})
	}
}

// Close finishes the object: one FINISHED event (weftd computes the elapsed time from its
// birth). Idempotent: defer obj.Close().
func (x *Context) Close() {
	x.publish(&event{kind: weftv1.EventKind_EVENT_KIND_FINISHED})
}

// publish completes e (object, seq, time; a LOG's message rendered) and queues it, unless the
// object is closed. FINISHED closes it.
func (x *Context) publish(e *event) {
	now := clock.nowNs()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return
	}
	for _, f := range e.fields() {
		x.fields[f.name] = f.val
	}
	for _, n := range e.deleted() {
		delete(x.fields, n)
	}
	if e.kind == weftv1.EventKind_EVENT_KIND_LOG {
		e.more.message = render(e.more.message, x.fields)
	}
	if e.kind == weftv1.EventKind_EVENT_KIND_FINISHED {
		x.closed = true
	}
	x.seq++
	e.obj, e.seq, e.timeNs = x.info, x.seq, now
	x.buf.offer(e)
}

func (x *Context) isIgnored(name string) bool {
	if x.ignore == nil {
		return false
	}
	_, ok := x.ignore[name]
	return ok
}

// convert turns fields into wire values, leaving out ignored names.
func (x *Context) convert(fields Fields) ([]namedValue, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	out := make([]namedValue, 0, len(fields))
	for name, v := range fields {
		if x.isIgnored(name) {
			continue
		}
		if !utf8.ValidString(name) {
			return nil, invalid(ErrNotJSON, "field name %q is not valid UTF-8", name)
		}
		val, err := toValue(v)
		if err != nil {
			return nil, fieldError(name, err)
		}
		out = append(out, namedValue{name: name, val: val})
	}
	return out, nil
}

// fieldError names the field in a conversion error.
func fieldError(name string, err error) error {
	if e, ok := err.(*Error); ok {
		return &Error{Reason: e.Reason, Code: e.Code, Message: "field " + strconv.Quote(name) + ": " + e.Message}
	}
	return err
}
