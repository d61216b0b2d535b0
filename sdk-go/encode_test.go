package weft

import (
	"strings"
	"testing"
	"unsafe"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func mustValue(t *testing.T, v any) value {
	t.Helper()
	out, err := toValue(v)
	if err != nil {
		t.Fatalf("toValue(%v): %v", v, err)
	}
	return out
}

// TestEncodeMatchesProto decodes what the hand-written encoder produces with the generated code
// and compares it with the message built the ordinary way.
func TestEncodeMatchesProto(t *testing.T) {
	obj := &objectInfo{id: "id-1", routingKey: "shop.checkout", headers: map[string]string{"env": "prod", "empty": ""}}
	nested := mustValue(t, map[string]any{"a": []any{1, "two", nil, true}, "b": map[string]any{}})
	long := strings.Repeat("x", 300) // a length that takes a two-byte varint
	cases := []struct {
		name string
		in   event
		want *weftv1.ContextEvent
	}{
		{
			name: "single number field",
			in: event{obj: obj, kind: weftv1.EventKind_EVENT_KIND_UPDATE, seq: 7, timeNs: 1_700_000_000_123_456_789,
				hasField: true, field: namedValue{"status", mustValue(t, 200)}},
			want: &weftv1.ContextEvent{Id: "id-1", RoutingKey: "shop.checkout", Kind: weftv1.EventKind_EVENT_KIND_UPDATE,
				Seq: 7, TimeUnixNanos: 1_700_000_000_123_456_789,
				Fields: &structpb.Struct{Fields: map[string]*structpb.Value{"status": structpb.NewNumberValue(200)}}},
		},
		{
			name: "scalar kinds and an empty field name",
			in: event{obj: obj, kind: weftv1.EventKind_EVENT_KIND_UPDATE, seq: 1,
				more: &eventMore{fields: []namedValue{
					{"s", mustValue(t, "héllo")}, {"b", mustValue(t, false)}, {"t", mustValue(t, true)},
					{"n", mustValue(t, nil)}, {"", mustValue(t, "")}, {"long", mustValue(t, long)}, {"neg", mustValue(t, -1.5)},
				}}},
			want: &weftv1.ContextEvent{Id: "id-1", RoutingKey: "shop.checkout", Kind: weftv1.EventKind_EVENT_KIND_UPDATE, Seq: 1,
				Fields: &structpb.Struct{Fields: map[string]*structpb.Value{
					"s": structpb.NewStringValue("héllo"), "b": structpb.NewBoolValue(false), "t": structpb.NewBoolValue(true),
					"n": structpb.NewNullValue(), "": structpb.NewStringValue(""), "long": structpb.NewStringValue(long),
					"neg": structpb.NewNumberValue(-1.5),
				}}},
		},
		{
			name: "born with headers and nested values",
			in: event{obj: obj, kind: weftv1.EventKind_EVENT_KIND_BORN, withHeaders: true, seq: 1, timeNs: 5,
				more: &eventMore{fields: []namedValue{{"doc", nested}}}},
			want: &weftv1.ContextEvent{Id: "id-1", RoutingKey: "shop.checkout", Kind: weftv1.EventKind_EVENT_KIND_BORN,
				Headers: map[string]string{"env": "prod", "empty": ""}, Seq: 1, TimeUnixNanos: 5,
				Fields: &structpb.Struct{Fields: map[string]*structpb.Value{"doc": nested.nested}}},
		},
		{
			name: "log",
			in: event{obj: obj, kind: weftv1.EventKind_EVENT_KIND_LOG, level: uint8(LevelWarning), seq: 3,
				more: &eventMore{message: "served " + long}},
			want: &weftv1.ContextEvent{Id: "id-1", RoutingKey: "shop.checkout", Kind: weftv1.EventKind_EVENT_KIND_LOG,
				Level: weftv1.LogLevel_LOG_LEVEL_WARNING, Message: "served " + long, Seq: 3},
		},
		{
			name: "delete",
			in:   event{obj: obj, kind: weftv1.EventKind_EVENT_KIND_DELETE, seq: 4, more: &eventMore{deleted: []string{"a", ""}}},
			want: &weftv1.ContextEvent{Id: "id-1", RoutingKey: "shop.checkout", Kind: weftv1.EventKind_EVENT_KIND_DELETE,
				Deleted: []string{"a", ""}, Seq: 4},
		},
		{
			name: "finished without fields",
			in:   event{obj: obj, kind: weftv1.EventKind_EVENT_KIND_FINISHED, seq: 1 << 40},
			want: &weftv1.ContextEvent{Id: "id-1", RoutingKey: "shop.checkout", Kind: weftv1.EventKind_EVENT_KIND_FINISHED, Seq: 1 << 40},
		},
	}
	var enc encoder
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, size, err := enc.appendEvent(nil, &tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if want := proto.Size(tc.want); size != want {
				t.Errorf("size %d, the generated code says %d", size, want)
			}
			req := appendRequestHeader(nil, "client-1", 9, 0)
			req = append(req, data...)
			var got weftv1.PublishRequest
			if err := proto.Unmarshal(req, &got); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			want := &weftv1.PublishRequest{ClientId: "client-1", BatchSeq: 9, Events: []*weftv1.ContextEvent{tc.want}}
			if !proto.Equal(&got, want) {
				t.Errorf("decoded\n%v\nwant\n%v", &got, want)
			}
		})
	}
	t.Run("flush token request", func(t *testing.T) {
		var got weftv1.PublishRequest
		if err := proto.Unmarshal(appendRequestHeader(nil, "", 3, 42), &got); err != nil {
			t.Fatal(err)
		}
		if got.GetBatchSeq() != 3 || got.GetFlushToken() != 42 || len(got.GetEvents()) != 0 {
			t.Errorf("got %v", &got)
		}
	})
}

func TestEventSlotStaysCompact(t *testing.T) {
	// The buffer holds capacity slots of this size; a regression here multiplies by 10,000.
	if size := unsafe.Sizeof(event{}); size > 96 {
		t.Errorf("event is %d bytes, want at most 96", size)
	}
}
