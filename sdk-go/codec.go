package weft

import (
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// rawRequest is a PublishRequest the publisher has encoded itself (see encode.go): its
// client_id, batch_seq and flush_token, then its events (a batch, sent again unchanged after a
// reconnect). The two parts go out without being copied together.
type rawRequest struct {
	header []byte
	events []byte
}

// publishCodec sends rawRequests as they are and everything else (the daemon's
// PublishResponses) through gRPC's protobuf codec. It is used only on Publish streams, through
// grpc.ForceCodecV2; its name keeps the standard content-type, application/grpc+proto.
type publishCodec struct {
	proto encoding.CodecV2
}

func newPublishCodec() publishCodec {
	return publishCodec{proto: encoding.GetCodecV2(protocodec.Name)}
}

func (c publishCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*rawRequest); ok {
		out := mem.BufferSlice{mem.SliceBuffer(r.header)}
		if len(r.events) > 0 {
			out = append(out, mem.SliceBuffer(r.events))
		}
		return out, nil
	}
	return c.proto.Marshal(v)
}

func (c publishCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return c.proto.Unmarshal(data, v)
}

func (c publishCodec) Name() string { return protocodec.Name }
