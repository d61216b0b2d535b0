package weft

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Fields are named field values of a context: anything JSON can hold.
//
// Accepted values: nil, bool, every integer and float type (finite; numbers travel as JSON
// doubles, so integers beyond 2^53 lose precision), string, json.Number, []byte (base64, as
// encoding/json writes it), time.Time (RFC 3339), a *Context (its id: contexts link), maps
// with string keys, slices and arrays, pointers to any of these, structpb Value/Struct/
// ListValue, and anything encoding/json can marshal (structs, json.Marshaler). NaN and
// ±Inf are refused with ErrNotJSON, nesting deeper than 64 (a cycle, say) with ErrTooDeep.
type Fields map[string]any

// maxDepth is weftd's default nesting limit; it also stops a cyclic value early.
const maxDepth = 64

type valueKind uint8

const (
	kindNull valueKind = iota
	kindNumber
	kindString
	kindBool
	kindNested // a struct or list, held as a *structpb.Value
)

// value is one field value in the form the SDK keeps and encodes: scalars without any
// allocation, structs and lists as protobuf values built once.
type value struct {
	kind   valueKind
	num    float64 // kindNumber; kindBool as 0 or 1
	str    string  // kindString
	nested *structpb.Value
}

// toValue converts a Go value; the error is an *Error with ErrNotJSON or ErrTooDeep.
func toValue(v any) (value, error) {
	switch x := v.(type) {
	case nil:
		return value{}, nil
	case string:
		return stringValue(x)
	case bool:
		return boolValue(x), nil
	case int:
		return numberValue(float64(x)), nil
	case int64:
		return numberValue(float64(x)), nil
	case int32:
		return numberValue(float64(x)), nil
	case uint64:
		return numberValue(float64(x)), nil
	case uint32:
		return numberValue(float64(x)), nil
	case uint:
		return numberValue(float64(x)), nil
	case float64:
		return finite(x)
	case float32:
		return finite(float64(x))
	case *Context:
		if x == nil {
			return value{}, nil
		}
		return value{kind: kindString, str: x.info.id}, nil
	}
	return toValueSlow(v, 0)
}

// stringValue refuses text that is not UTF-8: protobuf strings (and JSON) must be.
func stringValue(s string) (value, error) {
	if !utf8.ValidString(s) {
		return value{}, invalid(ErrNotJSON, "string %q is not valid UTF-8", s)
	}
	return value{kind: kindString, str: s}, nil
}

func numberValue(f float64) value { return value{kind: kindNumber, num: f} }

func boolValue(b bool) value {
	if b {
		return value{kind: kindBool, num: 1}
	}
	return value{kind: kindBool}
}

func finite(f float64) (value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return value{}, invalid(ErrNotJSON, "%v is not a JSON number", f)
	}
	return numberValue(f), nil
}

// toValueSlow handles everything but the common scalars.
func toValueSlow(v any, depth int) (value, error) {
	switch x := v.(type) {
	case nil:
		return value{}, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return value{}, invalid(ErrNotJSON, "json.Number %q is not a number", string(x))
		}
		return finite(f)
	case []byte:
		return value{kind: kindString, str: base64.StdEncoding.EncodeToString(x)}, nil
	case time.Time:
		return value{kind: kindString, str: x.Format(time.RFC3339Nano)}, nil
	case *structpb.Value:
		return fromProto(x, depth)
	case *structpb.Struct:
		return fromProto(structpb.NewStructValue(x), depth)
	case *structpb.ListValue:
		return fromProto(structpb.NewListValue(x), depth)
	case json.Marshaler, encoding.TextMarshaler:
		return viaJSON(v, depth)
	}
	if depth >= maxDepth {
		return value{}, invalid(ErrTooDeep, "value nested deeper than %d (a cycle?)", maxDepth)
	}
	switch x := v.(type) {
	case Fields:
		return structValue(x, depth)
	case map[string]any:
		return structValue(x, depth)
	case []any:
		list := &structpb.ListValue{Values: make([]*structpb.Value, len(x))}
		for i, item := range x {
			pv, err := protoValue(item, depth+1)
			if err != nil {
				return value{}, err
			}
			list.Values[i] = pv
		}
		return value{kind: kindNested, nested: structpb.NewListValue(list)}, nil
	}
	return reflectValue(reflect.ValueOf(v), depth)
}

func structValue[M ~map[string]any](m M, depth int) (value, error) {
	s := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(m))}
	for k, item := range m {
		if !utf8.ValidString(k) {
			return value{}, invalid(ErrNotJSON, "map key %q is not valid UTF-8", k)
		}
		pv, err := protoValue(item, depth+1)
		if err != nil {
			return value{}, err
		}
		s.Fields[k] = pv
	}
	return value{kind: kindNested, nested: structpb.NewStructValue(s)}, nil
}

// reflectValue handles maps with string keys, slices, arrays, pointers, named scalar types
// and, through encoding/json, structs.
func reflectValue(rv reflect.Value, depth int) (value, error) {
	switch rv.Kind() {
	case reflect.Bool:
		return boolValue(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return numberValue(float64(rv.Int())), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return numberValue(float64(rv.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return finite(rv.Float())
	case reflect.String:
		return stringValue(rv.String())
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return value{}, nil
		}
		return toValueSlow(rv.Elem().Interface(), depth+1)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return value{}, invalid(ErrNotJSON, "map key type %s is not a string", rv.Type().Key())
		}
		if rv.IsNil() {
			return value{}, nil
		}
		s := &structpb.Struct{Fields: make(map[string]*structpb.Value, rv.Len())}
		for it := rv.MapRange(); it.Next(); {
			if !utf8.ValidString(it.Key().String()) {
				return value{}, invalid(ErrNotJSON, "map key %q is not valid UTF-8", it.Key().String())
			}
			pv, err := protoValue(it.Value().Interface(), depth+1)
			if err != nil {
				return value{}, err
			}
			s.Fields[it.Key().String()] = pv
		}
		return value{kind: kindNested, nested: structpb.NewStructValue(s)}, nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return value{}, nil
		}
		list := &structpb.ListValue{Values: make([]*structpb.Value, rv.Len())}
		for i := range rv.Len() {
			pv, err := protoValue(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return value{}, err
			}
			list.Values[i] = pv
		}
		return value{kind: kindNested, nested: structpb.NewListValue(list)}, nil
	case reflect.Struct:
		return viaJSON(rv.Interface(), depth)
	}
	return value{}, invalid(ErrNotJSON, "a %s is not a JSON value", rv.Type())
}

// viaJSON converts what encoding/json can marshal (structs, json.Marshaler, ...), honouring
// its field tags, by marshalling and reading the JSON back.
func viaJSON(v any, depth int) (value, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return value{}, invalid(ErrNotJSON, "%T is not JSON: %v", v, err)
	}
	var back any
	if err := json.Unmarshal(data, &back); err != nil {
		return value{}, invalid(ErrNotJSON, "%T is not JSON: %v", v, err)
	}
	if back == nil {
		return value{}, nil
	}
	return toValueSlow(back, depth)
}

// protoValue converts a nested item to a protobuf value.
func protoValue(v any, depth int) (*structpb.Value, error) {
	var out value
	var err error
	switch v.(type) {
	case string, bool, int, int64, int32, uint64, uint32, uint, float64, float32, *Context:
		out, err = toValue(v)
	default:
		out, err = toValueSlow(v, depth)
	}
	if err != nil {
		return nil, err
	}
	return out.proto(), nil
}

// fromProto accepts a protobuf value of the caller's after checking it holds JSON (no NaN or
// infinity, no value without a kind, no text that is not UTF-8, no nesting deeper than the
// limit), and takes a copy, so later changes by the caller cannot reach what is sent.
func fromProto(v *structpb.Value, depth int) (value, error) {
	if err := checkProto(v, depth); err != nil {
		return value{}, err
	}
	v = proto.Clone(v).(*structpb.Value)
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		return value{}, nil
	case *structpb.Value_NumberValue:
		return numberValue(k.NumberValue), nil
	case *structpb.Value_StringValue:
		return value{kind: kindString, str: k.StringValue}, nil
	case *structpb.Value_BoolValue:
		return boolValue(k.BoolValue), nil
	}
	return value{kind: kindNested, nested: v}, nil
}

func checkProto(v *structpb.Value, depth int) error {
	switch k := v.GetKind().(type) {
	case nil:
		return invalid(ErrNotJSON, "a structpb.Value with no kind set is not JSON")
	case *structpb.Value_NumberValue:
		if math.IsNaN(k.NumberValue) || math.IsInf(k.NumberValue, 0) {
			return invalid(ErrNotJSON, "%v is not a JSON number", k.NumberValue)
		}
	case *structpb.Value_StringValue:
		if !utf8.ValidString(k.StringValue) {
			return invalid(ErrNotJSON, "string %q is not valid UTF-8", k.StringValue)
		}
	case *structpb.Value_StructValue:
		if depth >= maxDepth {
			return invalid(ErrTooDeep, "value nested deeper than %d", maxDepth)
		}
		for key, item := range k.StructValue.GetFields() {
			if !utf8.ValidString(key) {
				return invalid(ErrNotJSON, "map key %q is not valid UTF-8", key)
			}
			if err := checkProto(item, depth+1); err != nil {
				return err
			}
		}
	case *structpb.Value_ListValue:
		if depth >= maxDepth {
			return invalid(ErrTooDeep, "value nested deeper than %d", maxDepth)
		}
		for _, item := range k.ListValue.GetValues() {
			if err := checkProto(item, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// proto returns the value as a protobuf value (allocating for scalars).
func (v value) proto() *structpb.Value {
	switch v.kind {
	case kindNumber:
		return structpb.NewNumberValue(v.num)
	case kindString:
		return structpb.NewStringValue(v.str)
	case kindBool:
		return structpb.NewBoolValue(v.num != 0)
	case kindNested:
		return v.nested
	}
	return structpb.NewNullValue()
}

// text is how a value reads inside a log message: strings as they are, integral numbers
// without a fraction (200, not 200.0), structs and lists as compact JSON with sorted keys.
func (v value) text() string {
	switch v.kind {
	case kindString:
		return v.str
	case kindNumber:
		if v.num == math.Trunc(v.num) && math.Abs(v.num) < 1e15 {
			return strconv.FormatInt(int64(v.num), 10)
		}
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	case kindBool:
		return strconv.FormatBool(v.num != 0)
	case kindNested:
		data, err := json.Marshal(v.nested.AsInterface())
		if err != nil {
			return v.nested.String() // unreachable for checked values; keeps logging total
		}
		return string(data)
	}
	return "null"
}
