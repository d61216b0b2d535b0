package weft

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

type shipment struct {
	ID     string   `json:"id"`
	Weight float64  `json:"weight"`
	Tags   []string `json:"tags,omitempty"`
	secret string
}

type level string

type node struct {
	Next *node `json:"next"`
}

func TestToValue(t *testing.T) {
	parent := &Context{info: &objectInfo{id: "parent-id"}}
	when := time.Date(2026, 11, 22, 6, 0, 0, 5, time.UTC)
	accepted := []struct {
		name string
		in   any
		want *structpb.Value
	}{
		{"nil", nil, structpb.NewNullValue()},
		{"string", "héllo", structpb.NewStringValue("héllo")},
		{"bool", true, structpb.NewBoolValue(true)},
		{"int", 200, structpb.NewNumberValue(200)},
		{"int8", int8(-3), structpb.NewNumberValue(-3)},
		{"uint16", uint16(65535), structpb.NewNumberValue(65535)},
		{"float32", float32(1.5), structpb.NewNumberValue(1.5)},
		{"named string", level("warn"), structpb.NewStringValue("warn")},
		{"duration is a number of ns", 2 * time.Millisecond, structpb.NewNumberValue(2e6)},
		{"json.Number", json.Number("12.5"), structpb.NewNumberValue(12.5)},
		{"bytes as base64", []byte("hi"), structpb.NewStringValue("aGk=")},
		{"time as RFC 3339", when, structpb.NewStringValue("2026-11-22T06:00:00.000000005Z")},
		{"context is its id", parent, structpb.NewStringValue("parent-id")},
		{"nil context", (*Context)(nil), structpb.NewNullValue()},
		{"pointer", func() *int { i := 7; return &i }(), structpb.NewNumberValue(7)},
		{"nil pointer", (*int)(nil), structpb.NewNullValue()},
		{"nil map", map[string]int(nil), structpb.NewNullValue()},
		{"fields", Fields{"a": 1}, mustStruct(t, map[string]any{"a": 1})},
		{"typed map", map[string][]int{"xs": {1, 2}}, mustStruct(t, map[string]any{"xs": []any{1, 2}})},
		{"array", [2]string{"a", "b"}, structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
			structpb.NewStringValue("a"), structpb.NewStringValue("b")}})},
		{"struct through json tags", shipment{ID: "s1", Weight: 2, secret: "x"}, mustStruct(t, map[string]any{"id": "s1", "weight": 2})},
		{"context nested in a list", []any{parent}, structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
			structpb.NewStringValue("parent-id")}})},
		{"structpb value", structpb.NewStringValue("pb"), structpb.NewStringValue("pb")},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toValue(tc.in)
			if err != nil {
				t.Fatalf("toValue: %v", err)
			}
			if !proto.Equal(got.proto(), tc.want) {
				t.Errorf("got %v, want %v", got.proto(), tc.want)
			}
		})
	}

	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	loop := &node{}
	loop.Next = loop
	deep := any("leaf")
	for range maxDepth + 1 {
		deep = []any{deep}
	}
	refused := []struct {
		name string
		in   any
		want Reason
	}{
		{"NaN", math.NaN(), ErrNotJSON},
		{"+Inf", math.Inf(1), ErrNotJSON},
		{"float32 -Inf", float32(math.Inf(-1)), ErrNotJSON},
		{"NaN nested in a map", map[string]any{"x": []any{1, math.NaN()}}, ErrNotJSON},
		{"NaN in a struct", struct{ X float64 }{math.NaN()}, ErrNotJSON},
		{"NaN in a structpb value", structpb.NewNumberValue(math.NaN()), ErrNotJSON},
		{"structpb value without a kind", &structpb.Value{}, ErrNotJSON},
		{"invalid UTF-8", "\xff", ErrNotJSON},
		{"invalid UTF-8 map key", map[string]any{"\xff": 1}, ErrNotJSON},
		{"non-string map key", map[int]string{1: "a"}, ErrNotJSON},
		{"channel", make(chan int), ErrNotJSON},
		{"function", func() {}, ErrNotJSON},
		{"complex number", complex(1, 2), ErrNotJSON},
		{"bad json.Number", json.Number("twelve"), ErrNotJSON},
		{"cyclic map", cyclic, ErrTooDeep},
		{"cyclic pointers", loop, ErrNotJSON},
		{"too deep", deep, ErrTooDeep},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := toValue(tc.in)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want an *Error with %s", err, tc.want)
			}
			if e.Message == "" {
				t.Error("the error says nothing")
			}
		})
	}

	t.Run("copies a caller's structpb value", func(t *testing.T) {
		pb := structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"a": structpb.NewNumberValue(1)}})
		got, err := toValue(pb)
		if err != nil {
			t.Fatal(err)
		}
		pb.GetStructValue().Fields["b"] = structpb.NewStringValue("later")
		if len(got.nested.GetStructValue().GetFields()) != 1 {
			t.Error("a change by the caller reached the SDK's copy")
		}
	})
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Value {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return structpb.NewStructValue(s)
}

func TestValueText(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{"text", "text"},
		{200, "200"},
		{200.0, "200"},
		{-3, "-3"},
		{1.5, "1.5"},
		{1e20, "1e+20"},
		{true, "true"},
		{nil, "null"},
		{map[string]any{"b": 1, "a": []any{"x"}}, `{"a":["x"],"b":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if got := mustValue(t, tc.in).text(); got != tc.want {
				t.Errorf("text of %v = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
