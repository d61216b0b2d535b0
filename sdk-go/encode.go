package weft

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers of weft.v1.PublishRequest, ContextEvent and google.protobuf.Struct/Value
// (proto/weft/v1/*.proto, google/protobuf/struct.proto). The publisher writes the wire format
// itself: a batch is encoded once, straight from the compact events, with no intermediate
// protobuf objects; TestEncodeMatchesProto decodes it with the generated code.
const (
	requestClientID   protowire.Number = 1
	requestBatchSeq   protowire.Number = 2
	requestEvents     protowire.Number = 3
	requestFlushToken protowire.Number = 4

	eventID         protowire.Number = 1
	eventRoutingKey protowire.Number = 2
	eventHeaders    protowire.Number = 3
	eventKind       protowire.Number = 4
	eventFields     protowire.Number = 5
	eventDeleted    protowire.Number = 6
	eventMessage    protowire.Number = 7
	eventLevel      protowire.Number = 8
	eventTime       protowire.Number = 9
	eventSeq        protowire.Number = 10

	mapKey   protowire.Number = 1
	mapValue protowire.Number = 2

	structFields protowire.Number = 1

	valueNull   protowire.Number = 1
	valueNumber protowire.Number = 2
	valueString protowire.Number = 3
	valueBool   protowire.Number = 4
)

// encoder writes events; it keeps scratch space between calls and belongs to one goroutine.
type encoder struct {
	sizes []int // value sizes of the event being encoded, in field order
}

// appendEvent appends e as one element of PublishRequest.events (field 3) and returns the
// buffer and the size of the ContextEvent message itself. On error b is returned unchanged.
func (enc *encoder) appendEvent(b []byte, e *event) ([]byte, int, error) {
	start := len(b)
	fieldsLen := enc.fieldsSize(e)
	size := enc.eventSize(e, fieldsLen)
	b = protowire.AppendTag(b, requestEvents, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	b = appendString(b, eventID, e.obj.id)
	b = appendString(b, eventRoutingKey, e.obj.routingKey)
	if e.withHeaders {
		for k, v := range e.obj.headers {
			b = protowire.AppendTag(b, eventHeaders, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(stringFieldSize(k)+stringFieldSize(v)))
			b = appendAlways(b, mapKey, k)
			b = appendAlways(b, mapValue, v)
		}
	}
	b = appendVarintField(b, eventKind, uint64(e.kind))
	if fieldsLen > 0 {
		b = protowire.AppendTag(b, eventFields, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(fieldsLen))
		var err error
		var one [1]namedValue
		for i, f := range e.allFields(&one) {
			if b, err = appendEntry(b, f.name, f.val, enc.sizes[i]); err != nil {
				return b[:start], 0, err
			}
		}
	}
	for _, name := range e.deleted() {
		b = appendAlways(b, eventDeleted, name)
	}
	b = appendString(b, eventMessage, e.message())
	b = appendVarintField(b, eventLevel, uint64(e.level))
	b = appendVarintField(b, eventTime, uint64(e.timeNs))
	b = appendVarintField(b, eventSeq, e.seq)
	if written := len(b) - start - protowire.SizeTag(requestEvents) - protowire.SizeVarint(uint64(size)); written != size {
		return b[:start], 0, fmt.Errorf("encoded %d bytes, computed %d", written, size)
	}
	return b, size, nil
}

// fieldsSize is the size of the event's Struct body; it records each value's size in
// enc.sizes for appendEvent.
func (enc *encoder) fieldsSize(e *event) int {
	enc.sizes = enc.sizes[:0]
	total := 0
	var one [1]namedValue
	for _, f := range e.allFields(&one) {
		vs := valueSize(f.val)
		enc.sizes = append(enc.sizes, vs)
		total += protowire.SizeTag(structFields) + protowire.SizeBytes(entrySize(f.name, vs))
	}
	return total
}

func (enc *encoder) eventSize(e *event, fieldsLen int) int {
	n := stringFieldSize(e.obj.id) + stringFieldSize(e.obj.routingKey)
	if e.withHeaders {
		for k, v := range e.obj.headers {
			n += protowire.SizeTag(eventHeaders) + protowire.SizeBytes(stringFieldSize(k)+stringFieldSize(v))
		}
	}
	n += varintFieldSize(uint64(e.kind))
	if fieldsLen > 0 {
		n += protowire.SizeTag(eventFields) + protowire.SizeBytes(fieldsLen)
	}
	for _, name := range e.deleted() {
		n += stringFieldSize(name)
	}
	if m := e.message(); m != "" {
		n += stringFieldSize(m)
	}
	n += varintFieldSize(uint64(e.level)) + varintFieldSize(uint64(e.timeNs)) + varintFieldSize(e.seq)
	return n
}

// appendEntry appends one Struct.fields map entry.
func appendEntry(b []byte, name string, v value, valueLen int) ([]byte, error) {
	b = protowire.AppendTag(b, structFields, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entrySize(name, valueLen)))
	b = appendAlways(b, mapKey, name)
	b = protowire.AppendTag(b, mapValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(valueLen))
	return appendValue(b, v)
}

func entrySize(name string, valueLen int) int {
	return stringFieldSize(name) + protowire.SizeTag(mapValue) + protowire.SizeBytes(valueLen)
}

// valueSize is the size of a google.protobuf.Value message body.
func valueSize(v value) int {
	switch v.kind {
	case kindNumber:
		return protowire.SizeTag(valueNumber) + protowire.SizeFixed64()
	case kindString:
		return stringFieldSize(v.str)
	case kindBool:
		return protowire.SizeTag(valueBool) + 1
	case kindNested:
		return proto.Size(v.nested)
	}
	return protowire.SizeTag(valueNull) + 1
}

func appendValue(b []byte, v value) ([]byte, error) {
	switch v.kind {
	case kindNumber:
		b = protowire.AppendTag(b, valueNumber, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.num)), nil
	case kindString:
		return appendAlways(b, valueString, v.str), nil
	case kindBool:
		b = protowire.AppendTag(b, valueBool, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.num)), nil
	case kindNested:
		// Nested values are built by the SDK (or cloned from the caller's) and never changed
		// afterwards, so this writes exactly valueSize(v) bytes; appendEvent checks.
		return proto.MarshalOptions{}.MarshalAppend(b, v.nested)
	}
	b = protowire.AppendTag(b, valueNull, protowire.VarintType)
	return protowire.AppendVarint(b, 0), nil
}

// appendString appends a string field unless it is empty (proto3's default).
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendAlways(b, num, s)
}

// appendAlways appends a string field even when empty (map entries, Value.string_value,
// repeated strings).
func appendAlways(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendVarintField appends a varint field unless it is zero (proto3's default).
func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// stringFieldSize is the size of a string field written by appendAlways (every field number
// used here takes a one-byte tag).
func stringFieldSize(s string) int {
	return 1 + protowire.SizeBytes(len(s))
}

func varintFieldSize(v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + protowire.SizeVarint(v)
}

// appendRequestHeader appends the PublishRequest fields other than its events.
func appendRequestHeader(b []byte, clientID string, batchSeq, flushToken uint64) []byte {
	b = appendString(b, requestClientID, clientID)
	b = appendVarintField(b, requestBatchSeq, batchSeq)
	return appendVarintField(b, requestFlushToken, flushToken)
}

// allFields returns the event's fields, the inline single field included (copied into one,
// so the common case allocates nothing).
func (e *event) allFields(one *[1]namedValue) []namedValue {
	if e.hasField {
		one[0] = e.field
		return one[:]
	}
	return e.fields()
}
