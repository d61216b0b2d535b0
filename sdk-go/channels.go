package weft

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc/codes"
)

// Message is a value sent on a channel (as encoding/json decodes JSON: float64, string, bool,
// nil, map[string]any, []any) and who sent it: "daemon/client".
type Message struct {
	Value  any
	Sender string
}

// ChannelEndedError is end-of-channel: a sender closed its side (Sender.Close), or its client
// went away without closing (Abrupt). Receiver.Receive returns it once per end, so a receiver
// fed by several senders can count them. It matches ErrChannelEnded with errors.Is.
type ChannelEndedError struct {
	Handle string // the receiver's handle
	Sender string // who ended the channel: "daemon/client"
	Abrupt bool
}

func (e *ChannelEndedError) Error() string {
	if e.Abrupt {
		return fmt.Sprintf("weft: %s: the sender %s went away from %s", ErrChannelEnded, e.Sender, e.Handle)
	}
	return fmt.Sprintf("weft: %s: the sender %s closed %s", ErrChannelEnded, e.Sender, e.Handle)
}

// Unwrap returns ErrChannelEnded.
func (e *ChannelEndedError) Unwrap() error { return ErrChannelEnded }

// Receiver is the receiving end of a channel (Mitogen's Receiver): anyone holding its Handle —
// pass it as a call argument — can send to it with Client.Sender, from this daemon or a linked
// one.
//
//	results, err := client.OpenReceiver(ctx)
//	defer results.Close()
//	client.CallAsync(ctx, "workers", "scan", map[string]any{"reply_to": results.Handle()})
//	for m, err := range results.Messages(ctx) { ... } // stops at the first end-of-channel
//
// Messages from one sender arrive in the order sent. Closing the receiver, or its client going
// away, makes weftd fail its senders with ErrTargetGone. Safe for concurrent use.
type Receiver struct {
	handle string
	ch     *channels
	stream *chanStream

	mu     sync.Mutex
	items  []inbound
	ready  chan struct{} // signalled when items were pushed
	gone   chan struct{} // closed once err is set
	err    error         // set when closed or when its stream ended; the items are no longer counted then
	closed bool
}

// inbound is a message or an end-of-channel.
type inbound struct {
	msg Message
	end *ChannelEndedError
}

func newReceiver(handle string, ch *channels, s *chanStream) *Receiver {
	return &Receiver{handle: handle, ch: ch, stream: s, ready: make(chan struct{}, 1), gone: make(chan struct{})}
}

// OpenReceiver opens a receiver on this client's channel stream (opened on first use). ctx
// bounds the wait for weftd (WithCallTimeout when it has no deadline). Errors: an *Error with
// ErrQueueFull (weftd has channel.max-receivers open, or this client 1,024), ErrUnavailable (no
// daemon), ErrClosed, or ErrDeadlineExceeded/ErrCancelled from ctx.
func (c *Client) OpenReceiver(ctx context.Context) (*Receiver, error) {
	ctx, cancel := withDefaultTimeout(ctx, c.cfg.callTimeout)
	defer cancel()
	return c.chans.open(ctx)
}

// Handle is what senders address: "daemon/name", a plain string.
func (r *Receiver) Handle() string { return r.handle }

// Receive waits for the next message. It returns a *ChannelEndedError (errors.Is
// ErrChannelEnded) at each sender's end-of-channel; after Close an *Error with ErrClosed; when
// the client's channel stream ended (weftd went away or dropped it), the messages that arrived
// before, then an *Error with ErrTargetGone; when ctx ends first, ErrDeadlineExceeded or
// ErrCancelled.
func (r *Receiver) Receive(ctx context.Context) (Message, error) {
	for {
		r.mu.Lock()
		if len(r.items) > 0 {
			it := r.items[0]
			r.items[0] = inbound{}
			r.items = r.items[1:]
			more := len(r.items) > 0
			if r.err == nil {
				r.ch.taken(1)
			}
			r.mu.Unlock()
			if more {
				r.signal() // another goroutine may be waiting
			}
			if it.end != nil {
				return Message{}, it.end
			}
			return it.msg, nil
		}
		err := r.err
		r.mu.Unlock()
		if err != nil {
			return Message{}, err
		}
		select {
		case <-r.ready:
		case <-r.gone:
		case <-ctx.Done():
			return Message{}, contextError(ctx, "receive from "+r.handle)
		}
	}
}

// Messages iterates over the messages until the first end-of-channel:
//
//	for m, err := range r.Messages(ctx) {
//		if err != nil { ... }   // closed, stream ended, or ctx ended: the last iteration
//		use(m.Value)
//	}
func (r *Receiver) Messages(ctx context.Context) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for {
			m, err := r.Receive(ctx)
			if errors.Is(err, ErrChannelEnded) {
				return
			}
			if err != nil {
				yield(Message{}, err)
				return
			}
			if !yield(m, nil) {
				return
			}
		}
	}
}

// Close closes the receiver: weftd forgets the handle and fails its senders with ErrTargetGone;
// what was not received is dropped. Idempotent; the error is always nil (a stream that ended
// took the receiver with it).
func (r *Receiver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	if r.err == nil {
		r.ch.taken(len(r.items))
		close(r.gone)
	}
	r.err = &Error{Reason: ErrClosed, Code: codes.Canceled, Message: "receiver " + r.handle + " is closed"}
	r.items = nil
	r.mu.Unlock()
	if r.ch.forgetReceiver(r) {
		// A failure means the stream ended: weftd closed the receiver with it.
		_, _ = r.ch.send(r.stream, &weftv1.ChannelRequest{Msg: &weftv1.ChannelRequest_Close{
			Close: &weftv1.CloseChannel{Handle: r.handle}}})
	}
	return nil
}

// String shows the handle.
func (r *Receiver) String() string { return "weft.Receiver{" + r.handle + "}" }

// push queues an item from the stream; dropped when the receiver is closed or broken.
func (r *Receiver) push(it inbound) {
	r.mu.Lock()
	if r.err != nil {
		r.mu.Unlock()
		return
	}
	r.items = append(r.items, it)
	r.ch.buffered.Add(1)
	r.mu.Unlock()
	r.signal()
}

func (r *Receiver) signal() {
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

// brk ends the receiver because its stream ended: what arrived stays readable, then why.
func (r *Receiver) brk(why error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	r.err = why
	r.ch.taken(len(r.items))
	close(r.gone)
}

// Sender is the sending end of a channel (Mitogen's Sender), made by Client.Sender from a
// receiver's handle.
//
//	out := client.Sender(handle)
//	defer out.Close()                 // the receiver gets end-of-channel
//	err := out.Send(map[string]any{"row": 1})
//
// Send does not wait for delivery. When weftd reports the receiver gone or unreachable, every
// later Send returns that *Error (ErrTargetGone, ErrNoRoute, ErrInvalidArgument for a malformed
// handle); a message weftd could not queue (the receiver's queue full) is counted in
// Undelivered. This client's Senders to one handle share these reports. Safe for concurrent
// use; messages from one goroutine arrive in order.
type Sender struct {
	handle string
	ch     *channels

	mu     sync.Mutex
	state  *sendState  // nil while maxSenderHandles other handles have open Senders
	sentOn *chanStream // the stream of the last send
	closed bool
}

// Sender returns a sender to handle (a Receiver's Handle, from this daemon or a linked one).
// Nothing is checked or sent until Send.
func (c *Client) Sender(handle string) *Sender {
	return &Sender{handle: handle, ch: c.chans, state: c.chans.addSender(handle)}
}

// Handle is the receiver's handle.
func (s *Sender) Handle() string { return s.handle }

// Send sends a JSON value (as for context fields) to the receiver. It returns an *Error:
// ErrNotJSON or ErrTooDeep (nothing sent); the receiver's failure once weftd reported it
// (ErrTargetGone, ErrNoRoute, ErrInvalidArgument); ErrClosed after Close or Client.Close;
// ErrUnavailable when weftd cannot be reached or took nothing for WithCallTimeout; ErrQueueFull
// when this client has open Senders to 4,096 other handles. It may wait while weftd applies
// flow control.
func (s *Sender) Send(v any) error {
	st, err := s.ready()
	if err != nil {
		return err
	}
	if f := st.failure.Load(); f != nil {
		return f
	}
	val, err := toValue(v)
	if err != nil {
		return err
	}
	stream, err := s.ch.write(&weftv1.ChannelRequest{Msg: &weftv1.ChannelRequest_Send{Send: &weftv1.ChannelSend{
		Handle: s.handle, Value: val.proto(), Seq: s.ch.seqs.Add(1)}}})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.sentOn = stream
	s.mu.Unlock()
	return nil
}

// ready returns the sender's shared state, registering it when there was no room before.
func (s *Sender) ready() (*sendState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, &Error{Reason: ErrClosed, Code: codes.Canceled, Message: "sender to " + s.handle + " is closed"}
	}
	if s.state == nil {
		if s.state = s.ch.addSender(s.handle); s.state == nil {
			return nil, &Error{Reason: ErrQueueFull, Code: codes.ResourceExhausted, Message: fmt.Sprintf(
				"this client has open senders to %d handles; close some", maxSenderHandles)}
		}
	}
	return s.state, nil
}

// Undelivered counts the messages to this handle weftd could not deliver (QUEUE_FULL: the
// receiver's queue or a link was full), reported so far.
func (s *Sender) Undelivered() uint64 {
	if st := s.currentState(); st != nil {
		return st.undelivered.Load()
	}
	return 0
}

// Err is why sending to the receiver can no longer succeed, once weftd said so; else nil.
func (s *Sender) Err() error {
	if st := s.currentState(); st != nil {
		if f := st.failure.Load(); f != nil {
			return f
		}
	}
	return nil
}

func (s *Sender) currentState() *sendState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Close ends this side of the channel: the receiver gets end-of-channel (after the messages
// sent before), a receiver of this same client too (which stays open). Call it after the last
// Send has returned. Idempotent. It returns an *Error only
// when weftd could not be told (ErrUnavailable); when the stream the sends went on has ended,
// or the client is closed, weftd ended the channel already (abrupt) and Close returns nil.
func (s *Sender) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	st, sentOn := s.state, s.sentOn
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	s.ch.removeSender(s.handle, st)
	if st.failure.Load() != nil || (sentOn != nil && !s.ch.isCurrent(sentOn)) {
		return nil
	}
	_, err := s.ch.write(&weftv1.ChannelRequest{Msg: &weftv1.ChannelRequest_Close{Close: &weftv1.CloseChannel{
		Handle: s.handle, Sender: true}}})
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// String shows the handle.
func (s *Sender) String() string { return "weft.Sender{" + s.handle + "}" }
