package weft

import (
	"strings"
	"time"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
)

// State is where a collated object is in its lifetime.
type State int32

// The object states.
const (
	StateLive      = State(weftv1.ObjectState_OBJECT_STATE_LIVE)
	StateFinished  = State(weftv1.ObjectState_OBJECT_STATE_FINISHED)
	StateTransient = State(weftv1.ObjectState_OBJECT_STATE_TRANSIENT)
	StateExpired   = State(weftv1.ObjectState_OBJECT_STATE_EXPIRED)
)

// String is the state's name as the CLI prints it: "live", "finished", "transient", "expired".
func (s State) String() string {
	return enumName(weftv1.ObjectState(s).String(), "OBJECT_STATE_")
}

// Kind is what a raw event does to its object.
type Kind int32

// The event kinds.
const (
	KindBorn      = Kind(weftv1.EventKind_EVENT_KIND_BORN)
	KindUpdate    = Kind(weftv1.EventKind_EVENT_KIND_UPDATE)
	KindLog       = Kind(weftv1.EventKind_EVENT_KIND_LOG)
	KindDelete    = Kind(weftv1.EventKind_EVENT_KIND_DELETE)
	KindFinished  = Kind(weftv1.EventKind_EVENT_KIND_FINISHED)
	KindTransient = Kind(weftv1.EventKind_EVENT_KIND_TRANSIENT)
)

// String is the kind's name: "born", "update", "log", "delete", "finished", "transient".
func (k Kind) String() string {
	return enumName(weftv1.EventKind(k).String(), "EVENT_KIND_")
}

// enumName is a generated enum value's name without its prefix, in lower case; an unknown
// value keeps the generated text (its number).
func enumName(generated, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(generated, prefix))
}

// Object is an object weftd collated from its events.
type Object struct {
	ID         string
	RoutingKey string
	Headers    map[string]string
	// Fields are the merged fields, reshaped by the view's projection; numbers are float64.
	Fields map[string]any
	State  State
	// Partial is true when the object's birth was never seen.
	Partial bool
	Start   time.Time
	Updated time.Time
	// End is when it finished or expired; zero while live.
	End time.Time
	// Elapsed is End - Start; while live, the time since Start.
	Elapsed     time.Duration
	LastSeq     uint64
	EventCount  uint64
	LastMessage string
	// DaemonID names the daemon that collated it.
	DaemonID string
}

// Event is one raw event as weftd received it.
type Event struct {
	ID         string
	RoutingKey string
	Headers    map[string]string
	Kind       Kind
	// Fields are the changed fields, reshaped by the view's projection; numbers are float64.
	Fields  map[string]any
	Deleted []string
	Message string
	Level   Level
	Time    time.Time
	Seq     uint64
}

func objectFromProto(o *weftv1.ContextObject) *Object {
	return &Object{
		ID:          o.GetId(),
		RoutingKey:  o.GetRoutingKey(),
		Headers:     o.GetHeaders(),
		Fields:      o.GetFields().AsMap(),
		State:       State(o.GetState()),
		Partial:     o.GetPartial(),
		Start:       unixNanos(o.GetStartUnixNanos()),
		Updated:     unixNanos(o.GetUpdatedUnixNanos()),
		End:         unixNanos(o.GetEndUnixNanos()),
		Elapsed:     time.Duration(o.GetElapsedSeconds() * float64(time.Second)),
		LastSeq:     o.GetLastSeq(),
		EventCount:  o.GetEventCount(),
		LastMessage: o.GetLastMessage(),
		DaemonID:    o.GetDaemonId(),
	}
}

func eventFromProto(e *weftv1.ContextEvent) *Event {
	return &Event{
		ID:         e.GetId(),
		RoutingKey: e.GetRoutingKey(),
		Headers:    e.GetHeaders(),
		Kind:       Kind(e.GetKind()),
		Fields:     e.GetFields().AsMap(),
		Deleted:    e.GetDeleted(),
		Message:    e.GetMessage(),
		Level:      Level(e.GetLevel()),
		Time:       unixNanos(e.GetTimeUnixNanos()),
		Seq:        e.GetSeq(),
	}
}

// unixNanos is the time, or the zero time for 0 ("not set" on the wire).
func unixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
