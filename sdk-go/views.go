package weft

import (
	"context"
	"errors"
	"iter"
	"maps"
	"math"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc/codes"
)

// Source is where a view reads from.
type Source int32

// The view sources.
const (
	// SourceLocal is this daemon's own collator (the default).
	SourceLocal = Source(weftv1.Source_SOURCE_LOCAL)
	// SourceBus is the fleet: every host, read from the bus.
	SourceBus = Source(weftv1.Source_SOURCE_BUS)
)

// ViewOption selects what a view returns and reshapes it: the options of `weft ls` and
// `weft mon` (Contexture's lcmon).
//
//	client.Objects(ctx,
//	    weft.RoutingKeys("shop.#"),           // -r: AMQP topic patterns (* one word, # zero or more)
//	    weft.MatchHeader("env", "prod"),      // -a env=prod
//	    weft.MatchAny(),                      // -x any
//	    weft.Keys("url", "*elapsed"),         // -k: first match breadth-first; *key = every match
//	    weft.Trim("password"),                // -t
//	    weft.DropEmpty(),                     // -z
//	    weft.IncludeLive())                   // live snapshots too
type ViewOption func(*viewConfig) error

type viewConfig struct {
	filter      weftv1.ObjectFilter
	projection  weftv1.Projection
	source      weftv1.Source
	includeLive bool
	bufferSize  uint32
	pageSize    uint32
}

// RoutingKeys selects routing keys by AMQP topic patterns: `*` matches one word, `#` zero or
// more; a key matches when any pattern does. Default: every key. weftd refuses a malformed
// pattern with ErrInvalidPattern.
func RoutingKeys(patterns ...string) ViewOption {
	return func(v *viewConfig) error {
		v.filter.RoutingKeys = append(v.filter.RoutingKeys, patterns...)
		return nil
	}
}

// MatchHeader selects by a header value; an empty value matches any value of that header.
// Several headers must all match, unless MatchAny.
func MatchHeader(name, value string) ViewOption {
	return func(v *viewConfig) error {
		if v.filter.Headers == nil {
			v.filter.Headers = make(map[string]string)
		}
		v.filter.Headers[name] = value
		return nil
	}
}

// MatchHeaders selects by several header values, as MatchHeader.
func MatchHeaders(headers map[string]string) ViewOption {
	return func(v *viewConfig) error {
		if v.filter.Headers == nil {
			v.filter.Headers = make(map[string]string, len(headers))
		}
		maps.Copy(v.filter.Headers, headers)
		return nil
	}
}

// MatchAny makes headers match when any one of them does (AMQP x-match any); default all.
func MatchAny() ViewOption {
	return func(v *viewConfig) error {
		v.filter.HeaderMatch = weftv1.HeaderMatch_HEADER_MATCH_ANY
		return nil
	}
}

// States selects objects in these states (ListObjects only); default every state.
func States(states ...State) ViewOption {
	return func(v *viewConfig) error {
		for _, s := range states {
			v.filter.States = append(v.filter.States, weftv1.ObjectState(s))
		}
		return nil
	}
}

// Keys extracts these keys, searched breadth-first through nested objects and lists, the
// first match winning; a key written "*name" returns every match, in order, as a list.
// Default: all fields.
func Keys(keys ...string) ViewOption {
	return func(v *viewConfig) error {
		v.projection.Keys = append(v.projection.Keys, keys...)
		return nil
	}
}

// Trim removes these keys wherever they occur (applied before Keys).
func Trim(keys ...string) ViewOption {
	return func(v *viewConfig) error {
		v.projection.Trim = append(v.projection.Trim, keys...)
		return nil
	}
}

// DropEmpty removes null, "", [] and {} values, recursively (applied after Keys).
func DropEmpty() ViewOption {
	return func(v *viewConfig) error {
		v.projection.DropEmpty = true
		return nil
	}
}

// IncludeLive makes Objects send the matching live objects first, then a snapshot each time
// one changes, so long-lived objects are visible before they finish.
func IncludeLive() ViewOption {
	return func(v *viewConfig) error {
		v.includeLive = true
		return nil
	}
}

// FromSource reads from this source (default SourceLocal). weftd answers ErrBusUnavailable
// for SourceBus when it has no bus.
func FromSource(source Source) ViewOption {
	return func(v *viewConfig) error {
		v.source = weftv1.Source(source)
		return nil
	}
}

// WatchBuffer sets how many items weftd buffers for a monitor that falls behind before it
// drops the oldest (default 4,096, at most 65,536).
func WatchBuffer(items int) ViewOption {
	return func(v *viewConfig) error {
		n, err := uint32Option("WatchBuffer", items)
		v.bufferSize = n
		return err
	}
}

// PageSize sets how many objects ListObjects fetches per call (default 100, at most 1,000).
func PageSize(objects int) ViewOption {
	return func(v *viewConfig) error {
		n, err := uint32Option("PageSize", objects)
		v.pageSize = n
		return err
	}
}

func uint32Option(name string, n int) (uint32, error) {
	if n < 1 || n > math.MaxUint32 {
		return 0, invalid(ErrInvalidArgument, "%s: must be between 1 and %d, got %d", name, uint32(math.MaxUint32), n)
	}
	return uint32(n), nil
}

func viewOptions(opts []ViewOption) (*viewConfig, error) {
	v := &viewConfig{source: weftv1.Source_SOURCE_LOCAL}
	for _, opt := range opts {
		if err := opt(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// callContext bounds a unary view call by WithCallTimeout unless ctx ends sooner.
func (c *Client) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.callTimeout)
}

// GetObject returns one live or finished object by id, reshaped by the projection options
// (Keys, Trim, DropEmpty) and read from FromSource. An unknown id is an *Error with
// ErrUnknownObject; a daemon that cannot be reached, ErrUnavailable.
func (c *Client) GetObject(ctx context.Context, id string, opts ...ViewOption) (*Object, error) {
	v, err := viewOptions(opts)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := c.callContext(ctx)
	defer cancel()
	r, err := c.views.GetObject(callCtx, &weftv1.GetObjectRequest{Id: id, Projection: &v.projection, Source: v.source})
	if err != nil {
		return nil, fromRPC(callCtx, err)
	}
	return objectFromProto(r.GetObject()), nil
}

// ListObjects returns the objects matching the options, live ones first, fetching page by page
// (PageSize) as the loop consumes them:
//
//	for obj, err := range client.ListObjects(ctx, weft.RoutingKeys("shop.#")) {
//	    if err != nil { ... } // the last item: the listing stops
//	}
func (c *Client) ListObjects(ctx context.Context, opts ...ViewOption) iter.Seq2[*Object, error] {
	return func(yield func(*Object, error) bool) {
		v, err := viewOptions(opts)
		if err != nil {
			yield(nil, err)
			return
		}
		req := &weftv1.ListObjectsRequest{Filter: &v.filter, Projection: &v.projection, PageSize: v.pageSize, Source: v.source}
		for {
			callCtx, cancel := c.callContext(ctx)
			page, err := c.views.ListObjects(callCtx, req)
			if err != nil {
				err = fromRPC(callCtx, err)
			}
			cancel()
			if err != nil {
				yield(nil, err)
				return
			}
			for _, o := range page.GetObjects() {
				if !yield(objectFromProto(o), nil) {
					return
				}
			}
			if page.GetNextPageToken() == "" {
				return
			}
			req.PageToken = page.GetNextPageToken()
		}
	}
}

// Messages streams every matching raw event as weftd receives it (Contexture's messages()).
// The feed lasts until ctx ends, Close, or the daemon ends it; see Monitor.
func (c *Client) Messages(ctx context.Context, opts ...ViewOption) (*Monitor[*Event], error) {
	return watch(ctx, c, weftv1.WatchMode_WATCH_MODE_MESSAGES, opts, func(r *weftv1.WatchResponse) (*Event, bool) {
		if m := r.GetMessage(); m != nil {
			return eventFromProto(m), true
		}
		return nil, false
	})
}

// Objects streams every matching object when it finishes, expires or is published transient
// (Contexture's objects()); with IncludeLive, live snapshots too. See Monitor.
func (c *Client) Objects(ctx context.Context, opts ...ViewOption) (*Monitor[*Object], error) {
	return watch(ctx, c, weftv1.WatchMode_WATCH_MODE_OBJECTS, opts, func(r *weftv1.WatchResponse) (*Object, bool) {
		if o := r.GetObject(); o != nil {
			return objectFromProto(o), true
		}
		return nil, false
	})
}

func watch[T any](ctx context.Context, c *Client, mode weftv1.WatchMode, opts []ViewOption,
	extract func(*weftv1.WatchResponse) (T, bool)) (*Monitor[T], error) {
	v, err := viewOptions(opts)
	if err != nil {
		return nil, err
	}
	req := &weftv1.WatchRequest{
		Mode: mode, Source: v.source, Filter: &v.filter, Projection: &v.projection,
		IncludeLive: v.includeLive && mode == weftv1.WatchMode_WATCH_MODE_OBJECTS, BufferSize: v.bufferSize,
	}
	streamCtx, cancel := context.WithCancel(ctx)
	stream, err := c.views.Watch(streamCtx, req)
	if err != nil {
		cancel()
		return nil, fromRPC(ctx, err)
	}
	return &Monitor[T]{ctx: ctx, stream: stream, cancel: cancel, extract: extract}, nil
}

// isCancellation reports whether err is the end of a call that this side cancelled.
func isCancellation(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == codes.Canceled
}
