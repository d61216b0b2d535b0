package weft

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	weftv1 "github.com/weft-dev/weft/sdk-go/internal/gen/weft/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// maxSenderHandles bounds the handles one client has open Senders to (weftd tracks as many per
// stream); a Sender to one more handle fails its sends with ErrQueueFull until others close.
const maxSenderHandles = 4096

// channels is one client's side of CallService.Channel: one stream for all its receivers and
// senders, opened on first use and again after it breaks. Receivers live as long as their
// stream (weftd closes them when it ends, and fails their senders); senders go on over the next.
//
// Inbound flow control: the stream's goroutine calls Recv only while the receivers hold fewer
// than max items (messages and ends) together, so a reader that does not keep up makes weftd's
// bounded queue for this client fill (its senders are told QUEUE_FULL), not this process's
// memory. Beyond max, only what gRPC's HTTP/2 flow-control window holds is buffered.
type channels struct {
	calls    weftv1.CallServiceClient
	clientID string
	timeout  time.Duration
	logger   *slog.Logger
	max      int64
	buffered atomic.Int64  // items held by the live receivers of this client
	room     chan struct{} // signalled when buffered drops below max
	refs     atomic.Uint64
	seqs     atomic.Uint64
	streams  sync.WaitGroup // the streams' receiving goroutines

	mu      sync.Mutex
	stream  *chanStream // nil until first use and after it broke
	closed  bool
	handles map[string]*sendState // by handle, while a Sender to it is open
}

// chanStream is one Channel stream.
type chanStream struct {
	rpc    weftv1.CallService_ChannelClient
	ctx    context.Context
	cancel context.CancelFunc
	sendMu sync.Mutex // rpc.Send is not safe for concurrent use
	// sendingSince is when the Send in progress began (UnixNano), 0 when none is: the watchdog
	// drops a stream that takes nothing for the client's call timeout.
	sendingSince atomic.Int64
	stalled      atomic.Bool

	// Guarded by channels.mu.
	broken    bool
	opening   map[uint64]chan openResult // by OpenReceiver ref
	receivers map[string]*Receiver       // by handle
}

type openResult struct {
	receiver *Receiver
	err      error
}

// sendState is what weftd reported about sends to one handle from this client (weftd reports
// per stream and handle, so this client's Senders to one handle share it).
type sendState struct {
	refs        int // open Senders; guarded by channels.mu
	failure     atomic.Pointer[Error]
	undelivered atomic.Uint64
}

func newChannels(c *Client) *channels {
	return &channels{
		calls: c.calls, clientID: c.clientID, timeout: c.cfg.callTimeout, logger: c.cfg.logger,
		max: int64(c.cfg.channelBuffer), room: make(chan struct{}, 1), handles: map[string]*sendState{},
	}
}

func errClientClosed(op string) *Error {
	return &Error{Reason: ErrClosed, Code: codes.Canceled, Message: op + ": the client is closed"}
}

// current returns the stream, opening one when there is none.
func (ch *channels) current() (*chanStream, error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed {
		return nil, errClientClosed("channel")
	}
	if ch.stream != nil {
		return ch.stream, nil
	}
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), clientIDHeader, ch.clientID))
	rpc, err := ch.calls.Channel(ctx)
	if err != nil {
		cancel()
		return nil, fromRPC(nil, err)
	}
	s := &chanStream{rpc: rpc, ctx: ctx, cancel: cancel, opening: map[uint64]chan openResult{},
		receivers: map[string]*Receiver{}}
	ch.stream = s
	ch.streams.Add(2)
	go ch.receive(s)
	go ch.watch(s)
	return s, nil
}

// watch drops s when a Send on it has waited for the client's call timeout (weftd takes
// nothing): its receivers end, and the Send returns ErrUnavailable.
func (ch *channels) watch(s *chanStream) {
	defer ch.streams.Done()
	tick := time.NewTicker(max(ch.timeout/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-tick.C:
			if since := s.sendingSince.Load(); since != 0 && now.UnixNano()-since >= int64(ch.timeout) {
				s.stalled.Store(true)
				s.cancel()
				return
			}
		}
	}
}

// send writes req on s. A stream weftd takes nothing from for the client's call timeout is
// dropped by watch (its receivers end). retry is true when s had ended before req could be written:
// nothing was sent, and a fresh stream may take it.
func (ch *channels) send(s *chanStream, req *weftv1.ChannelRequest) (retry bool, err error) {
	s.sendMu.Lock()
	s.sendingSince.Store(time.Now().UnixNano())
	err = s.rpc.Send(req)
	s.sendingSince.Store(0)
	s.sendMu.Unlock()
	if err == nil {
		return false, nil
	}
	ch.detach(s)
	if s.stalled.Load() {
		return false, &Error{Reason: ErrUnavailable, Code: codes.Unavailable, cause: []error{err},
			Message: fmt.Sprintf("weftd took no channel request for %v; the channel stream was dropped", ch.timeout)}
	}
	ch.mu.Lock()
	closed := ch.closed
	ch.mu.Unlock()
	if closed {
		return false, errClientClosed("channel")
	}
	return true, &Error{Reason: ErrUnavailable, Code: codes.Unavailable, cause: []error{err},
		Message: "the channel stream to weftd ended: " + err.Error()}
}

// write sends req on the current stream, and once more on a fresh one when that had ended.
func (ch *channels) write(req *weftv1.ChannelRequest) (*chanStream, error) {
	for attempt := 0; ; attempt++ {
		s, err := ch.current()
		if err != nil {
			return nil, err
		}
		retry, err := ch.send(s, req)
		if err == nil || !retry || attempt > 0 {
			return s, err
		}
	}
}

// detach makes the next write open a fresh stream, and ends s (its goroutine reports why).
func (ch *channels) detach(s *chanStream) {
	ch.mu.Lock()
	if ch.stream == s {
		ch.stream = nil
	}
	ch.mu.Unlock()
	s.cancel()
}

// open opens a receiver; ctx bounds the wait for weftd's answer.
func (ch *channels) open(ctx context.Context) (*Receiver, error) {
	for attempt := 0; ; attempt++ {
		s, err := ch.current()
		if err != nil {
			return nil, err
		}
		ref := ch.refs.Add(1)
		answer := make(chan openResult, 1)
		ch.mu.Lock()
		registered := !s.broken
		if registered {
			s.opening[ref] = answer
		}
		ch.mu.Unlock()
		if !registered {
			continue // current() opens a fresh stream
		}
		retry, err := ch.send(s, &weftv1.ChannelRequest{Msg: &weftv1.ChannelRequest_Open{Open: &weftv1.OpenReceiver{Ref: ref}}})
		if err != nil {
			ch.forgetOpening(s, ref)
			if retry && attempt == 0 {
				continue
			}
			return nil, err
		}
		select {
		case r := <-answer:
			return r.receiver, r.err
		case <-ctx.Done():
			if !ch.forgetOpening(s, ref) {
				// The answer is on its way: a receiver opened too late is closed.
				if r := <-answer; r.receiver != nil {
					_ = r.receiver.Close()
				}
			}
			return nil, contextError(ctx, "open a receiver")
		}
	}
}

// forgetOpening stops waiting for ref; false when its answer was taken already.
func (ch *channels) forgetOpening(s *chanStream, ref uint64) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	_, waiting := s.opening[ref]
	delete(s.opening, ref)
	return waiting
}

// receive dispatches what s brings until it ends, holding back while the receivers are full.
func (ch *channels) receive(s *chanStream) {
	defer ch.streams.Done()
	for {
		for ch.buffered.Load() >= ch.max && s.ctx.Err() == nil {
			select {
			case <-ch.room:
			case <-s.ctx.Done():
			}
		}
		r, err := s.rpc.Recv()
		if err != nil {
			ch.broken(s, err)
			return
		}
		ch.dispatch(s, r)
	}
}

func (ch *channels) dispatch(s *chanStream, r *weftv1.ChannelResponse) {
	switch m := r.GetMsg().(type) {
	case *weftv1.ChannelResponse_Opened:
		ch.opened(s, m.Opened)
	case *weftv1.ChannelResponse_Message:
		if rc := ch.receiver(s, m.Message.GetHandle()); rc != nil {
			rc.push(inbound{msg: Message{Value: m.Message.GetValue().AsInterface(), Sender: m.Message.GetSender()}})
		}
	case *weftv1.ChannelResponse_End:
		e := m.End
		if rc := ch.receiver(s, e.GetHandle()); rc != nil {
			rc.push(inbound{end: &ChannelEndedError{Handle: e.GetHandle(), Sender: e.GetSender(), Abrupt: e.GetAbrupt()}})
		}
	case *weftv1.ChannelResponse_Failed:
		f := m.Failed
		ch.mu.Lock()
		st := ch.handles[f.GetHandle()]
		ch.mu.Unlock()
		if st == nil {
			return // every Sender to it is closed
		}
		if f.GetClosed() {
			st.failure.CompareAndSwap(nil, fromCallError(f.GetError()))
		} else {
			st.undelivered.Add(max(1, f.GetCount()))
		}
	}
}

func (ch *channels) receiver(s *chanStream, handle string) *Receiver {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return s.receivers[handle]
}

// opened answers an OpenReceiver; a receiver nobody waits for any more is closed.
func (ch *channels) opened(s *chanStream, o *weftv1.ReceiverOpened) {
	var res openResult
	ch.mu.Lock()
	answer := s.opening[o.GetRef()]
	delete(s.opening, o.GetRef())
	switch {
	case o.GetError() != nil:
		res.err = fromCallError(o.GetError())
	case o.GetHandle() == "":
		res.err = &Error{Reason: ErrUnavailable, Code: codes.Internal, Message: "weftd opened a receiver without a handle"}
	default:
		res.receiver = newReceiver(o.GetHandle(), ch, s)
		s.receivers[o.GetHandle()] = res.receiver
	}
	ch.mu.Unlock()
	if answer != nil {
		answer <- res
	} else if res.receiver != nil {
		go res.receiver.Close() // Close writes on s: not from its receiving goroutine
	}
}

// broken ends s: its receivers and the opens waiting on it fail with why.
func (ch *channels) broken(s *chanStream, err error) {
	ch.mu.Lock()
	if ch.stream == s {
		ch.stream = nil
	}
	s.broken = true
	opening, receivers := s.opening, s.receivers
	s.opening, s.receivers = map[uint64]chan openResult{}, map[string]*Receiver{}
	closed := ch.closed
	ch.mu.Unlock()
	s.cancel()
	var why *Error
	if closed {
		why = errClientClosed("channel")
	} else {
		cause := fromRPC(nil, err).(*Error)
		why = &Error{Reason: ErrTargetGone, Code: codes.Unavailable, cause: []error{cause}, Message: fmt.Sprintf(
			"the channel stream to weftd ended (%s: %s); weftd closed this stream's receivers", cause.Reason, cause.Message)}
		if len(receivers) > 0 {
			ch.logger.Info("weft: channel stream ended", "receivers", len(receivers), "error", err)
		}
	}
	for _, answer := range opening {
		answer <- openResult{err: why}
	}
	for _, rc := range receivers {
		rc.brk(why)
	}
}

// taken: receivers gave up n items; the stream may take more.
func (ch *channels) taken(n int) {
	if n > 0 && ch.buffered.Add(-int64(n)) < ch.max {
		select {
		case ch.room <- struct{}{}:
		default:
		}
	}
}

// forgetReceiver removes rc from its stream; true when the stream is still live (weftd holds it).
func (ch *channels) forgetReceiver(rc *Receiver) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if rc.stream.receivers[rc.handle] != rc {
		return false
	}
	delete(rc.stream.receivers, rc.handle)
	return !rc.stream.broken
}

// addSender registers a Sender to handle; nil when maxSenderHandles handles have open Senders.
func (ch *channels) addSender(handle string) *sendState {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	st := ch.handles[handle]
	if st == nil {
		if len(ch.handles) >= maxSenderHandles {
			return nil
		}
		st = &sendState{}
		ch.handles[handle] = st
	}
	st.refs++
	return st
}

func (ch *channels) removeSender(handle string, st *sendState) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if st.refs--; st.refs == 0 && ch.handles[handle] == st {
		delete(ch.handles, handle)
	}
}

// isCurrent reports whether s is the live stream.
func (ch *channels) isCurrent(s *chanStream) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.stream == s
}

// shutdown ends the stream (weftd closes the receivers and ends the channels sent on, abrupt)
// and waits for its goroutine.
func (ch *channels) shutdown() {
	ch.mu.Lock()
	ch.closed = true
	s := ch.stream
	ch.stream = nil
	ch.mu.Unlock()
	if s != nil {
		s.cancel()
	}
	ch.streams.Wait()
}

// fromCallError is weftd's description of a channel failure as an *Error.
func fromCallError(e *weftv1.CallError) *Error {
	var code codes.Code
	if err := code.UnmarshalJSON([]byte(`"` + e.GetCode() + `"`)); err != nil {
		code = codes.Unknown
	}
	reason := Reason(e.GetReason())
	if reason == "" {
		reason = codeReason(code)
	}
	return &Error{Reason: reason, Code: code, Message: e.GetMessage(), Metadata: e.GetMetadata()}
}
