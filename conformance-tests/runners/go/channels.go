package main

import (
	"context"
	"errors"

	weft "github.com/weft-dev/weft/sdk-go"
)

// channelState holds a session's receivers and senders by the names the steps gave them.
type channelState struct {
	receivers map[string]*weft.Receiver
	senders   map[string]*weft.Sender
}

func newChannelState() *channelState {
	return &channelState{receivers: map[string]*weft.Receiver{}, senders: map[string]*weft.Sender{}}
}

func (cs *channelState) close() {
	for _, r := range cs.receivers {
		_ = r.Close()
	}
	for _, snd := range cs.senders {
		_ = snd.Close()
	}
}

// performChannels runs the channel steps (README, "Steps performed by the runners").
func (s *session) performChannels(action string, c *weft.Client, a args) (value any, err error, ok bool) {
	cs := s.chans
	switch action {
	case "open_receiver":
		r, err := c.OpenReceiver(context.Background())
		if err != nil {
			return nil, err, true
		}
		cs.receivers[str(a, "as")] = r
		return r.Handle(), nil, true
	case "close_receiver":
		err := cs.receivers[str(a, "receiver")].Close()
		delete(cs.receivers, str(a, "receiver"))
		return nil, err, true
	case "receive":
		return receive(cs.receivers[str(a, "receiver")], a), nil, true
	case "sender":
		cs.senders[str(a, "as")] = c.Sender(str(a, "handle"))
		return nil, nil, true
	case "send":
		out := cs.senders[str(a, "sender")]
		for _, v := range a["values"].([]any) {
			if err := out.Send(s.decode(v)); err != nil {
				return nil, err, true
			}
		}
		return nil, nil, true
	case "close_sender":
		err := cs.senders[str(a, "sender")].Close()
		delete(cs.senders, str(a, "sender"))
		return nil, err, true
	case "sender_failure":
		var we *weft.Error
		if err := cs.senders[str(a, "sender")].Err(); errors.As(err, &we) {
			return args{"code": codeName(we.Code.String()), "reason": string(we.Reason)}, nil, true
		} else if err != nil {
			return nil, err, true
		}
		return nil, nil, true
	}
	return nil, nil, false
}

// receive takes up to count items within timeout_ms: messages, ends, and the receiver's failure (last).
func receive(r *weft.Receiver, a args) []any {
	count := 1
	if n, ok := a["count"].(float64); ok {
		count = int(n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), millis(a, "timeout_ms", 3000))
	defer cancel()
	items := []any{}
	for len(items) < count {
		m, err := r.Receive(ctx)
		var end *weft.ChannelEndedError
		var we *weft.Error
		switch {
		case err == nil:
			items = append(items, args{"value": m.Value, "sender": m.Sender})
		case errors.As(err, &end):
			items = append(items, args{"end": args{"sender": end.Sender, "abrupt": end.Abrupt}})
		case ctx.Err() != nil:
			return items
		case errors.As(err, &we):
			return append(items, args{"failed": args{"code": codeName(we.Code.String()), "reason": string(we.Reason)}})
		default:
			return append(items, args{"failed": args{"code": "UNKNOWN", "reason": err.Error()}})
		}
	}
	return items
}
