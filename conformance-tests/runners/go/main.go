// Command runner is the Go runner of the conformance suite: it reads the driver's JSON lines on
// stdin, performs each scenario step through the Go SDK's public API and answers one JSON line
// per command on stdout (protocol: ../../driver/runners.py; steps: ../../README.md).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	weft "github.com/weft-dev/weft/sdk-go"
)

// unsupported: steps the Go SDK cannot express, with the reason the matrix shows.
var unsupported = map[string]string{
	"raw_events": "the SDK numbers events itself: it cannot send chosen seqs, a missing birth or a duplicate",
}

type args = map[string]any

// notExpressible: a step the SDK cannot express with these arguments.
type notExpressible string

func (n notExpressible) Error() string { return string(n) }

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	out := json.NewEncoder(os.Stdout)
	var s *session
	for in.Scan() {
		var msg args
		if err := json.Unmarshal(in.Bytes(), &msg); err != nil {
			fmt.Fprintln(os.Stderr, "runner: bad input:", err)
			os.Exit(2)
		}
		var reply any
		switch msg["cmd"] {
		case "quit":
			if s != nil {
				s.close()
			}
			return
		case "hello":
			reply = args{"runner": "go", "unsupported": unsupported}
		case "begin":
			if s != nil {
				s.close()
			}
			var err error
			if s, err = newSession(msg["daemons"].([]any)); err != nil {
				reply = args{"status": "broken", "detail": err.Error()}
			} else {
				reply = args{"status": "ok"}
			}
		case "end":
			if s != nil {
				s.close()
				s = nil
			}
			reply = args{"status": "ok"}
		case "step":
			reply = s.step(str(msg, "action"), str(msg, "daemon"), mapOf(msg["args"]))
		default:
			reply = args{"status": "broken", "detail": fmt.Sprint("unknown command ", msg["cmd"])}
		}
		if err := out.Encode(reply); err != nil {
			fmt.Fprintln(os.Stderr, "runner: cannot answer:", err)
			os.Exit(2)
		}
	}
	if s != nil {
		s.close()
	}
}

type watch struct {
	items chan any
	stop  func()
}

type session struct {
	clients  map[string]*weft.Client
	first    string
	contexts map[string]*weft.Context
	watches  map[string]*watch
	servers  map[string]*weft.Server
	futures  map[string]*weft.Future
	seen     *handlers
	chans    *channelState
}

func newSession(daemons []any) (*session, error) {
	s := &session{
		clients: map[string]*weft.Client{}, contexts: map[string]*weft.Context{}, watches: map[string]*watch{},
		servers: map[string]*weft.Server{}, futures: map[string]*weft.Future{}, seen: newHandlers(),
		chans: newChannelState(),
	}
	for _, d := range daemons {
		m := d.(map[string]any)
		name := str(m, "name")
		c, err := weft.Connect(context.Background(), weft.WithAddress(str(m, "target")), weft.WithClientID("conformance-go-"+name))
		if err != nil {
			s.close()
			return nil, err
		}
		if s.first == "" {
			s.first = name
		}
		s.clients[name] = c
	}
	return s, nil
}

func (s *session) close() {
	s.chans.close()
	for _, w := range s.watches {
		w.stop()
	}
	for _, f := range s.futures {
		f.Cancel()
	}
	for _, srv := range s.servers {
		srv.Close()
	}
	for _, c := range s.clients {
		c.Close()
	}
}

func (s *session) step(action, daemon string, a args) any {
	if why, ok := unsupported[action]; ok {
		return args{"status": "na", "reason": why}
	}
	if daemon == "" {
		daemon = s.first
	}
	c := s.clients[daemon]
	start := time.Now()
	value, err := s.perform(action, c, a)
	elapsed := float64(time.Since(start)) / float64(time.Millisecond)
	var ne notExpressible
	var we *weft.Error
	var ce *weft.CallError
	var pe *weft.ParallelCallError
	switch {
	case err == nil:
		return args{"status": "ok", "value": value, "elapsed_ms": elapsed}
	case errors.As(err, &ne):
		return args{"status": "na", "reason": ne.Error()}
	case errors.As(err, &pe):
		failures := args{}
		for i, f := range pe.Failures {
			failures[fmt.Sprint(i)] = string(f.Reason)
		}
		first := pe.Failures[pe.Indexes()[0]]
		return args{"status": "error", "elapsed_ms": elapsed, "error": args{
			"code": "ABORTED", "reason": string(first.Reason), "message": pe.Error(), "metadata": args{}, "failures": failures,
		}}
	case errors.As(err, &ce):
		return args{"status": "error", "elapsed_ms": elapsed, "error": args{
			"code": codeName(ce.Code.String()), "reason": string(ce.Reason), "message": ce.Message, "metadata": orEmpty(ce.Metadata),
		}}
	case errors.As(err, &we):
		return args{"status": "error", "elapsed_ms": elapsed, "error": args{
			"code": codeName(we.Code.String()), "reason": string(we.Reason), "message": we.Message, "metadata": orEmpty(we.Metadata),
		}}
	default:
		return args{"status": "broken", "detail": err.Error()}
	}
}

func (s *session) perform(action string, c *weft.Client, a args) (any, error) {
	switch action {
	case "open", "transient":
		return s.open(action, c, a)
	case "set":
		return nil, s.ctx(a).Set(str(a, "name"), s.decode(a["value"]))
	case "update":
		return nil, s.ctx(a).Update(weft.Fields(s.decodeMap(a["fields"])))
	case "log":
		return nil, s.ctx(a).Log(level(str(a, "level")), str(a, "template"), weft.Fields(s.decodeMap(a["fields"])))
	case "delete":
		s.ctx(a).Delete(strs(a["names"])...)
		return nil, nil
	case "finish":
		s.ctx(a).Close()
		return nil, nil
	case "flush":
		ctx, cancel := context.WithTimeout(context.Background(), millis(a, "timeout_ms", 5000))
		defer cancel()
		return c.Flush(ctx) == nil, nil
	case "get":
		o, err := c.GetObject(context.Background(), str(a, "id"), viewOptions(a, false)...)
		var we *weft.Error
		if errors.As(err, &we) && we.Reason == weft.ErrUnknownObject {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return object(o), nil
	case "list":
		out := []any{}
		for o, err := range c.ListObjects(context.Background(), viewOptions(a, true)...) {
			if err != nil {
				return nil, err
			}
			out = append(out, object(o))
		}
		return out, nil
	case "watch":
		return nil, s.watch(c, a)
	case "watch_next":
		return s.watchNext(a), nil
	case "close_watch":
		s.watches[str(a, "watch")].stop()
		delete(s.watches, str(a, "watch"))
		return nil, nil
	}
	if v, err, ok := s.performStats(action, c, a); ok {
		return v, err
	}
	if v, err, ok := s.performCalls(action, c, a); ok {
		return v, err
	}
	if v, err, ok := s.performChannels(action, c, a); ok {
		return v, err
	}
	return nil, notExpressible("the Go runner has no step '" + action + "'")
}

func (s *session) open(action string, c *weft.Client, a args) (any, error) {
	var opts []weft.ContextOption
	if id, ok := a["id"].(string); ok {
		opts = append(opts, weft.ID(id))
	}
	if h, ok := a["headers"].(map[string]any); ok {
		for k, v := range h {
			opts = append(opts, weft.Header(k, v.(string)))
		}
	}
	if a["ignore"] != nil {
		opts = append(opts, weft.Ignore(strs(a["ignore"])...))
	}
	if action == "transient" {
		opts = append(opts, weft.Transient())
	}
	x, err := c.Context(str(a, "key"), weft.Fields(s.decodeMap(a["fields"])), opts...)
	if err != nil {
		return nil, err
	}
	name := x.ID()
	if as, ok := a["as"].(string); ok {
		name = as
	}
	s.contexts[name] = x
	return x.ID(), nil
}

func (s *session) ctx(a args) *weft.Context { return s.contexts[str(a, "ctx")] }

// decode turns the scenario's escapes into values: {"$float": "NaN"} (not JSON) and
// {"$ctx": name} (a context as a value: a link).
func (s *session) decode(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if f, ok := t["$float"].(string); ok && len(t) == 1 {
			switch strings.ToLower(f) {
			case "nan":
				return math.NaN()
			case "-inf", "-infinity":
				return math.Inf(-1)
			}
			return math.Inf(1)
		}
		if name, ok := t["$ctx"].(string); ok && len(t) == 1 {
			return s.contexts[name]
		}
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = s.decode(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = s.decode(x)
		}
		return out
	}
	return v
}

func (s *session) decodeMap(v any) map[string]any {
	if v == nil {
		return nil
	}
	return s.decode(v).(map[string]any)
}

func viewOptions(a args, withStates bool) []weft.ViewOption {
	var opts []weft.ViewOption
	if f, ok := a["filter"].(map[string]any); ok {
		if f["routing_keys"] != nil {
			opts = append(opts, weft.RoutingKeys(strs(f["routing_keys"])...))
		}
		if h, ok := f["headers"].(map[string]any); ok {
			for k, v := range h {
				opts = append(opts, weft.MatchHeader(k, v.(string)))
			}
		}
		if f["match"] == "any" {
			opts = append(opts, weft.MatchAny())
		}
		if withStates && f["states"] != nil {
			var states []weft.State
			for _, st := range strs(f["states"]) {
				states = append(states, map[string]weft.State{
					"live": weft.StateLive, "finished": weft.StateFinished,
					"transient": weft.StateTransient, "expired": weft.StateExpired,
				}[st])
			}
			opts = append(opts, weft.States(states...))
		}
	}
	if p, ok := a["projection"].(map[string]any); ok {
		if p["keys"] != nil {
			opts = append(opts, weft.Keys(strs(p["keys"])...))
		}
		if p["trim"] != nil {
			opts = append(opts, weft.Trim(strs(p["trim"])...))
		}
		if p["drop_empty"] == true {
			opts = append(opts, weft.DropEmpty())
		}
	}
	if a["include_live"] == true {
		opts = append(opts, weft.IncludeLive())
	}
	return opts
}

// watch starts a monitor whose items a goroutine hands over, so watch_next can wait with a timeout.
func (s *session) watch(c *weft.Client, a args) error {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watch{items: make(chan any, 4096), stop: cancel}
	if a["mode"] == "objects" {
		m, err := c.Objects(ctx, viewOptions(a, false)...)
		if err != nil {
			cancel()
			return err
		}
		go func() {
			defer m.Close()
			for o, err := range m.All() {
				if err != nil {
					return
				}
				w.items <- object(o)
			}
		}()
	} else {
		m, err := c.Messages(ctx, viewOptions(a, false)...)
		if err != nil {
			cancel()
			return err
		}
		go func() {
			defer m.Close()
			for e, err := range m.All() {
				if err != nil {
					return
				}
				w.items <- message(e)
			}
		}()
	}
	s.watches[str(a, "as")] = w
	return nil
}

func (s *session) watchNext(a args) []any {
	w := s.watches[str(a, "watch")]
	count := 1
	if n, ok := a["count"].(float64); ok {
		count = int(n)
	}
	timeout := time.After(millis(a, "timeout_ms", 3000))
	items := []any{}
	for len(items) < count {
		select {
		case item := <-w.items:
			items = append(items, item)
		case <-timeout:
			return items
		}
	}
	return items
}

func object(o *weft.Object) args {
	return args{
		"id": o.ID, "routing_key": o.RoutingKey, "headers": orEmpty(o.Headers), "fields": orEmptyAny(o.Fields),
		"state": o.State.String(), "partial": o.Partial, "last_seq": o.LastSeq, "event_count": o.EventCount,
		"last_message": o.LastMessage, "elapsed_seconds": o.Elapsed.Seconds(), "daemon_id": o.DaemonID,
	}
}

func message(e *weft.Event) args {
	deleted := e.Deleted
	if deleted == nil {
		deleted = []string{}
	}
	out := args{
		"id": e.ID, "routing_key": e.RoutingKey, "kind": e.Kind.String(), "headers": orEmpty(e.Headers),
		"fields": orEmptyAny(e.Fields), "deleted": deleted, "seq": e.Seq,
	}
	if e.Kind == weft.KindLog {
		out["message"] = e.Message
		out["level"] = ""
		if e.Level != 0 {
			out["level"] = strings.ToLower(e.Level.String())
		}
	}
	return out
}

func level(name string) weft.Level {
	return map[string]weft.Level{
		"debug": weft.LevelDebug, "info": weft.LevelInfo, "warning": weft.LevelWarning,
		"error": weft.LevelError, "critical": weft.LevelCritical, "": weft.LevelInfo,
	}[name]
}

// codeName turns a gRPC code's String() ("InvalidArgument") into its canonical name (INVALID_ARGUMENT).
func codeName(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func mapOf(v any) args {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return args{}
}

func millis(a args, key string, otherwise float64) time.Duration {
	ms, ok := a[key].(float64)
	if !ok {
		ms = otherwise
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orEmptyAny(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
