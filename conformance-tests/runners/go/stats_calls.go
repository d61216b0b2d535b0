package main

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
)

const waitCancelMax = 10 * time.Second

// performStats maps the statistics steps; ok is false for other actions.
func (s *session) performStats(action string, c *weft.Client, a args) (value any, err error, ok bool) {
	switch action {
	case "stats":
		return nil, s.stats(c, a), true
	case "stats_flush":
		ctx, cancel := context.WithTimeout(context.Background(), millis(a, "timeout_ms", 5000))
		defer cancel()
		return c.Stats().Flush(ctx) == nil, nil, true
	case "stats_rejected":
		return args{"count": c.Stats().Rejected()}, nil, true
	case "stats_rejections":
		n := c.Stats().Rejected()
		if n > 1 {
			return nil, notExpressible("the Go SDK keeps only the last refusal (Stats.LastRejection)"), true
		}
		reasons := []any{}
		var we *weft.Error
		if errors.As(c.Stats().LastRejection(), &we) {
			pos, _ := strconv.Atoi(we.Metadata["position"])
			reasons = append(reasons, args{"reason": string(we.Reason), "position": pos})
		}
		return args{"count": n, "reasons": reasons}, nil, true
	case "stats_enabled":
		ns, err := c.Stats().Namespace(str(a, "ns"))
		if err != nil {
			return nil, err, true
		}
		return ns.Enabled(), nil, true
	}
	return nil, nil, false
}

func (s *session) stats(c *weft.Client, a args) error {
	ns, err := c.Stats().Namespace(str(a, "ns"))
	if err != nil {
		return err
	}
	coll, rec, key := str(a, "collection"), str(a, "record_key"), str(a, "key")
	switch str(a, "op") {
	case "add":
		delta := 1.0
		if d, ok := a["delta"].(float64); ok {
			delta = d
		}
		if coll == "" {
			ns.Add(key, delta)
		} else {
			ns.AddRecord(coll, rec, key, delta)
		}
		return nil
	case "set":
		if coll == "" {
			return ns.Set(key, s.decode(a["value"]))
		}
		return ns.SetRecord(coll, rec, key, s.decode(a["value"]))
	case "put":
		return ns.Put(coll, rec, s.decodeMap(a["record"]))
	case "append":
		maxLen, _ := a["max_len"].(float64)
		return ns.Append(coll, s.decodeMap(a["record"]), int(maxLen))
	case "remove":
		switch {
		case coll == "":
			return ns.Remove(key)
		case key == "":
			return ns.RemoveRecord(coll, rec)
		}
		return notExpressible("the Go SDK removes an entry or a record, not a value of a record")
	case "derive":
		if coll == "" {
			return ns.Derive(key, str(a, "expression"))
		}
		return ns.DeriveRecord(coll, key, str(a, "expression"))
	}
	return errors.New("unknown stats op " + str(a, "op"))
}

// performCalls maps the call steps; ok is false for other actions.
func (s *session) performCalls(action string, c *weft.Client, a args) (value any, err error, ok bool) {
	switch action {
	case "serve":
		return nil, s.serve(c, a), true
	case "close_server":
		err := s.servers[str(a, "server")].Close()
		delete(s.servers, str(a, "server"))
		return nil, err, true
	case "handler_seen":
		return s.seen.get(str(a, "server") + "." + str(a, "function")), nil, true
	case "call":
		v, err := s.call(context.Background(), c, a)
		return v, err, true
	case "call_async":
		positional, err := callArgs(a["args"])
		if err != nil {
			return nil, err, true
		}
		ctx, cancel := context.WithTimeout(context.Background(), millis(a, "timeout_ms", 10000))
		f := c.CallAsync(ctx, str(a, "target"), str(a, "function"), s.decode(positional).([]any)...)
		go func() { <-f.Done(); cancel() }()
		s.futures[str(a, "as")] = f
		return nil, nil, true
	case "cancel":
		s.futures[str(a, "call")].Cancel()
		return nil, nil, true
	case "await":
		ctx, cancel := context.WithTimeout(context.Background(), millis(a, "timeout_ms", 10000))
		defer cancel()
		v, err := s.futures[str(a, "call")].Wait(ctx)
		return v, err, true
	case "in_parallel":
		var calls []weft.ParallelCall
		for _, x := range a["calls"].([]any) {
			m := x.(map[string]any)
			positional, err := callArgs(m["args"])
			if err != nil {
				return nil, err, true
			}
			calls = append(calls, weft.ParallelCall{Target: str(m, "target"), Function: str(m, "function"), Args: s.decode(positional).([]any)})
		}
		ctx, cancel := context.WithTimeout(context.Background(), millis(a, "timeout_ms", 10000))
		defer cancel()
		v, err := c.InParallel(ctx, calls...)
		return v, err, true
	}
	return nil, nil, false
}

// callArgs: the Go SDK sends positional arguments as one JSON list; other wire values cannot be sent.
func callArgs(v any) ([]any, error) {
	switch t := v.(type) {
	case nil:
		return []any{}, nil
	case []any:
		return t, nil
	}
	return nil, notExpressible("the Go SDK sends call arguments as one JSON list (positional) only")
}

func (s *session) call(parent context.Context, c *weft.Client, a args) (any, error) {
	positional, err := callArgs(a["args"])
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(parent, millis(a, "timeout_ms", 10000))
	defer cancel()
	return c.Call(ctx, str(a, "target"), str(a, "function"), s.decode(positional).([]any)...)
}

func (s *session) serve(c *weft.Client, a args) error {
	endpoint := str(a, "endpoint")
	name := endpoint
	if as, ok := a["as"].(string); ok {
		name = as
	}
	hs := map[string]weft.Handler{}
	for fn, b := range a["functions"].(map[string]any) {
		hs[fn] = s.seen.handler(s, c, name+"."+fn, b.(map[string]any))
	}
	var opts []weft.ServeOption
	if p, ok := a["policy"].(map[string]any); ok {
		if p["allowed_clients"] != nil {
			opts = append(opts, weft.AllowClients(strs(p["allowed_clients"])...))
		}
		if p["allowed_hosts"] != nil {
			opts = append(opts, weft.AllowHosts(strs(p["allowed_hosts"])...))
		}
		if p["allowed_daemons"] != nil {
			opts = append(opts, weft.AllowDaemons(strs(p["allowed_daemons"])...))
		}
	}
	srv, err := c.Serve(context.Background(), endpoint, hs, opts...)
	if err != nil {
		return err
	}
	s.servers[name] = srv
	return nil
}

// handlers: handler behaviours described as data (README, step "serve") and what each function saw.
type handlers struct {
	mu   sync.Mutex
	seen map[string]args
}

func newHandlers() *handlers { return &handlers{seen: map[string]args{}} }

func (h *handlers) get(key string) args {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := args{}
	for k, v := range h.seen[key] {
		out[k] = v
	}
	return out
}

// handler runs a behaviour; a nested call goes through the serving client c, so that weftd knows
// its parent.
func (h *handlers) handler(s *session, c *weft.Client, key string, b map[string]any) weft.Handler {
	h.mu.Lock()
	h.seen[key] = args{"invocations": 0, "cancelled": 0, "args": nil}
	h.mu.Unlock()
	return func(ctx context.Context, callArgs []any) (any, error) {
		h.mu.Lock()
		h.seen[key]["invocations"] = h.seen[key]["invocations"].(int) + 1
		h.seen[key]["args"] = callArgs
		h.mu.Unlock()
		switch {
		case hasKey(b, "return"):
			return b["return"], nil
		case b["echo"] == true:
			return callArgs, nil
		case b["raise"] != nil:
			return nil, errors.New(str(b["raise"].(map[string]any), "message"))
		case b["wait_cancel"] == true:
			select {
			case <-ctx.Done():
				h.mu.Lock()
				h.seen[key]["cancelled"] = h.seen[key]["cancelled"].(int) + 1
				h.mu.Unlock()
				return "cancelled", nil
			case <-time.After(waitCancelMax):
				return "not cancelled", nil
			}
		case b["call"] != nil:
			nested := b["call"].(map[string]any)
			v, err := s.call(ctx, c, nested)
			var ce *weft.CallError
			if errors.As(err, &ce) {
				return args{"error": args{"reason": string(ce.Reason), "scope": ce.Scope}}, nil
			}
			if err != nil {
				return nil, err
			}
			return args{"value": v}, nil
		}
		return nil, errors.New("unknown behaviour")
	}
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}
