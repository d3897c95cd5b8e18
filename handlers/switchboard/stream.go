package switchboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/keyauth"
	"switchboard/models"
	"switchboard/store"
)

// The live stream: GET /switchboard/v1/events.
//
// What one commit costs does not grow with the streams open on it: each
// account with open streams has one feed, a goroutine that on every
// wake-up of the account (store.SubscribeEvents: a commit through this
// process, or through another replica on PostgreSQL) reads the events after
// the last it read, once, renders each event as its Server-Sent Event once,
// and hands that batch to each of the account's streams. Wake-ups coalesce,
// and a feed reads at most once every StreamConfig.Coalesce, so a burst of
// commits costs one read and one write to each stream; a feed also reads
// every StreamConfig.Poll in case a wake-up was lost.
//
// A stream keeps its own position, the sequence number of the last event
// it has passed (shown or filtered out), and reads the table itself only
// to catch up: when it starts (every event after Last-Event-ID), when a
// batch it gets does not follow on from its position, and when its feed
// had to drop batches for it. It joins its feed before it catches up, so
// whatever commits meanwhile comes in a batch, and it drops what it has
// already passed by sequence number: no gap and no duplicate. A feed never
// waits for a stream: a stream's batches queue up to StreamConfig.Buffer,
// and past that the feed drops them and tells the stream to catch up.

// feeds are the feeds of the accounts with open streams on this server.
type feeds struct {
	src EventSource
	cfg StreamConfig
	log *slog.Logger

	mu        sync.Mutex
	byAccount map[int64]*feed
}

// feed reads one account's events for its streams.
type feed struct {
	account int64
	subs    map[*subscriber]struct{} // under feeds.mu
	stop    context.CancelFunc
	// ready is closed once the feed knows the account's last sequence
	// number and reads every commit after it.
	ready chan struct{}
}

// frame is one event rendered as a Server-Sent Event: what every stream
// that shows it writes.
type frame struct {
	seq int64
	typ models.EventType
	b   []byte
}

// render returns the frames of evs: "id: <seq>", "event: <type>" and
// "data: <Event as JSON>" (JSON has no newline), then a blank line.
func render(evs []models.Event) ([]frame, error) {
	out := make([]frame, len(evs))
	for i, ev := range evs {
		data, err := json.Marshal(ToEvent(ev))
		if err != nil {
			return nil, err
		}
		b := make([]byte, 0, len(data)+len(ev.Type)+40)
		b = fmt.Appendf(b, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, data)
		out[i] = frame{seq: ev.Seq, typ: ev.Type, b: b}
	}
	return out, nil
}

// subscriber is one stream's end of its feed.
type subscriber struct {
	batches chan []frame
	// behind gets a value when the feed dropped a batch for this stream.
	behind chan struct{}
}

func newFeeds(src EventSource, cfg StreamConfig, log *slog.Logger) *feeds {
	return &feeds{src: src, cfg: cfg, log: log, byAccount: map[int64]*feed{}}
}

// errFeedNotReady means an account's feed could not read where the event
// log stands (the database is down).
var errFeedNotReady = fmt.Errorf("the event feed is not ready: %w", store.ErrUnavailable)

// feedReadyTimeout bounds the wait of a new stream for its feed's first
// read.
const feedReadyTimeout = 10 * time.Second

// join adds a stream to the account's feed, starting the feed when it is
// the account's first, and returns once the feed is reading. leave takes
// the stream off (and stops the feed after its last). It returns ctx's
// error, or errFeedNotReady when the feed cannot start.
func (fs *feeds) join(ctx context.Context, account int64) (sub *subscriber, leave func(), err error) {
	sub = &subscriber{batches: make(chan []frame, fs.cfg.Buffer), behind: make(chan struct{}, 1)}
	fs.mu.Lock()
	f := fs.byAccount[account]
	if f == nil {
		fctx, stop := context.WithCancel(context.Background())
		f = &feed{account: account, subs: map[*subscriber]struct{}{}, stop: stop, ready: make(chan struct{})}
		fs.byAccount[account] = f
		go fs.run(fctx, f)
	}
	f.subs[sub] = struct{}{}
	fs.mu.Unlock()
	leave = func() {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		delete(f.subs, sub)
		if len(f.subs) == 0 {
			f.stop()
			if fs.byAccount[account] == f {
				delete(fs.byAccount, account)
			}
		}
	}
	t := time.NewTimer(feedReadyTimeout)
	defer t.Stop()
	select {
	case <-f.ready:
		return sub, leave, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = errFeedNotReady
	}
	leave()
	return nil, nil, err
}

// feedPage is the most events one read of a feed or a catch-up takes; a
// longer run is read a page at a time.
const feedPage = 1000

// run is the feed's goroutine: it subscribes to the account's wake-ups
// before it reads where the log stands, so no commit after that read goes
// unseen, then reads after every wake-up (at most once every Coalesce) and
// every Poll until ctx ends.
func (fs *feeds) run(ctx context.Context, f *feed) {
	wake, cancel := fs.src.SubscribeEvents(f.account)
	defer cancel()
	poll := time.NewTicker(fs.cfg.Poll)
	defer poll.Stop()
	var last int64
	for {
		var err error
		if last, err = fs.src.LastEventSeq(ctx, f.account); err == nil {
			break
		}
		fs.log.Warn("event feed: read the last sequence number", "account_id", f.account, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
	close(f.ready)
	var lastRead time.Time
	window := fs.cfg.Coalesce
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
		// Commits in the window coalesce into the one wake-up pending.
		if wait := window - time.Since(lastRead); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		lastRead = time.Now()
		read := 0
		for {
			evs, err := fs.src.Events(ctx, f.account, store.EventFilter{After: last, Limit: feedPage})
			if err != nil {
				if ctx.Err() == nil {
					fs.log.Warn("event feed: read events", "account_id", f.account, "err", err)
				}
				break
			}
			if len(evs) == 0 {
				break
			}
			last = evs[len(evs)-1].Seq
			read += len(evs)
			frames, err := render(evs)
			if err != nil {
				fs.log.Error("event feed: render events", "account_id", f.account, "err", err)
				break
			}
			fs.broadcast(f, frames)
			if len(evs) < feedPage {
				break
			}
		}
		window = fs.cfg.nextWindow(window, read)
	}
}

// busyRead is the number of events one read of a feed finds from which the
// account counts as busy, and the feed's window widens.
const busyRead = 16

// nextWindow returns the window a feed waits out before its next read,
// after a read of n events in window cur: twice cur, up to MaxCoalesce,
// while each read finds busyRead events or more; Coalesce again after one
// that finds fewer. Under a steady stream of commits what a stream costs
// (a write to its client and the client's read, each a wake-up of a
// goroutine on either side) goes by the number of batches, hardly by their
// size, so a busy account's events go out in fewer, larger batches, at
// most MaxCoalesce late; a quiet account's go out as before.
func (c StreamConfig) nextWindow(cur time.Duration, n int) time.Duration {
	if n < busyRead {
		return c.Coalesce
	}
	return max(c.Coalesce, min(2*cur, c.MaxCoalesce))
}

// broadcast hands evs to each of f's streams without waiting for any: a
// stream whose queue is full is told to catch up instead.
func (fs *feeds) broadcast(f *feed, frames []frame) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for sub := range f.subs {
		select {
		case sub.batches <- frames:
		default:
			select {
			case sub.behind <- struct{}{}:
			default:
			}
		}
	}
}

// streamRequest is what a stream asks for.
type streamRequest struct {
	// after is the sequence number to start after; fromNow means the
	// client gave none, and the stream starts at the newest event.
	after   int64
	fromNow bool
	// types keeps only these types (nil: all).
	types map[models.EventType]bool
}

// readStreamRequest reads the Last-Event-ID header (or, for clients that
// cannot set it, ?last_event_id= or ?after=) and ?types=. It returns
// store.FieldErrors for a position that is not a non-negative integer and
// an unknown type.
func readStreamRequest(c echo.Context) (streamRequest, error) {
	var fe store.FieldErrors
	r := streamRequest{fromNow: true}
	q := c.QueryParams()
	for _, src := range []struct{ name, value string }{
		{"Last-Event-ID", c.Request().Header.Get("Last-Event-ID")},
		{"last_event_id", q.Get("last_event_id")},
		{"after", q.Get("after")},
	} {
		v := strings.TrimSpace(src.value)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fe.Add(src.name, "must be an event id: a whole number from 0")
		}
		r.after, r.fromNow = n, false
		break
	}
	if raw := q.Get("types"); raw != "" {
		r.types = map[models.EventType]bool{}
		for part := range strings.SplitSeq(raw, ",") {
			t := models.EventType(strings.TrimSpace(part))
			if t == "" {
				continue
			}
			if !t.Valid() {
				fe.Add("types", "%q is no event type", t)
				continue
			}
			r.types[t] = true
		}
	}
	return r, fe.Err()
}

// errStreamsFull answers a stream over StreamConfig.MaxStreams.
var errStreamsFull = &apiError{status: http.StatusServiceUnavailable, code: codeStreamsFull,
	message: "The server holds as many event streams as it may: retry later, or on another replica"}

// acquireStream counts a new stream, or returns errStreamsFull.
func (a *api) acquireStream() (release func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open >= a.stream.MaxStreams {
		return nil, errStreamsFull
	}
	a.open++
	return func() {
		a.mu.Lock()
		a.open--
		a.mu.Unlock()
	}, nil
}

// streamEvents is GET /switchboard/v1/events: the account's events as
// Server-Sent Events, each "id: <seq>", "event: <type>", "data: <Event as
// JSON>"; every event after Last-Event-ID first, then each as it commits,
// until the client leaves or the server shuts down. A comment line goes
// every KeepAlive while there is nothing to send.
func (a *api) streamEvents(c echo.Context) error {
	cl, err := keyauth.Caller(c)
	if err != nil {
		return err
	}
	req, err := readStreamRequest(c)
	if err != nil {
		return err
	}
	release, err := a.acquireStream()
	if err != nil {
		return err
	}
	defer release()
	ctx := c.Request().Context()
	sub, leave, err := a.feeds.join(ctx, cl.AccountID)
	if err != nil {
		return err
	}
	defer leave()
	s := &stream{api: a, c: c, rc: http.NewResponseController(c.Response()), account: cl.AccountID, pos: req.after, types: req.types}
	if req.fromNow {
		if s.pos, err = a.store.LastEventSeq(ctx, cl.AccountID); err != nil {
			return err
		}
	}
	// The server's write timeout is for requests that end: a stream sets
	// its own write deadline before each write (write). Its read deadline
	// needs nothing: net/http clears it once the request is read.
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	// Over HTTP/1.1 the body goes unchunked and ends when the connection
	// closes, as the Server-Sent Events specification advises (net/http
	// does this for "identity"). Chunked, each batch of events went out as
	// three segments, the chunk's head, its body and a lone CRLF, each a
	// send and a wake-up of the client; unchunked it is one of each.
	h.Set("Transfer-Encoding", "identity")
	c.Response().WriteHeader(http.StatusOK)
	if err := s.flush(); err != nil {
		return nil
	}
	// From here the status is sent: errors end the stream, and are only
	// logged.
	if err := s.run(ctx, sub); err != nil && ctx.Err() == nil && !errors.Is(err, errClientGone) {
		a.log.WarnContext(ctx, "event stream ended", "account_id", cl.AccountID, "err", err)
	}
	return nil
}

// errClientGone is a write to a stream's client that failed.
var errClientGone = errors.New("the stream's client is gone")

// stream is one open event stream.
type stream struct {
	api     *api
	c       echo.Context
	rc      *http.ResponseController
	account int64
	// pos is the sequence number of the last event passed to the client
	// or filtered out.
	pos   int64
	types map[models.EventType]bool
	buf   bytes.Buffer
}

// run catches the stream up, then sends its feed's batches until ctx or
// the server's Done ends it.
func (s *stream) run(ctx context.Context, sub *subscriber) error {
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	keepAlive := time.NewTicker(s.api.stream.KeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.api.stream.Done:
			return nil
		case <-sub.behind:
			if err := s.catchUp(ctx); err != nil {
				return err
			}
		case frames := <-sub.batches:
			if len(frames) > 0 && frames[0].seq > s.pos+1 {
				// Something between is missing (a dropped batch): read it.
				if err := s.catchUp(ctx); err != nil {
					return err
				}
			}
			if err := s.send(frames); err != nil {
				return err
			}
		case <-keepAlive.C:
			if err := s.write([]byte(": keep-alive\n\n")); err != nil {
				return err
			}
		}
		keepAlive.Reset(s.api.stream.KeepAlive)
	}
}

// catchUp sends every event after the stream's position, read from the
// table a page at a time.
func (s *stream) catchUp(ctx context.Context) error {
	for {
		evs, err := s.api.store.Events(ctx, s.account, store.EventFilter{After: s.pos, Limit: feedPage})
		if err != nil {
			return err
		}
		frames, err := render(evs)
		if err != nil {
			return err
		}
		if err := s.send(frames); err != nil {
			return err
		}
		if len(evs) < feedPage {
			return nil
		}
	}
}

// send sends the frames after the stream's position that its types keep,
// written and flushed together (they arrived together), and moves the
// position past them all.
func (s *stream) send(frames []frame) error {
	s.buf.Reset()
	for _, fr := range frames {
		if fr.seq <= s.pos {
			continue
		}
		s.pos = fr.seq
		if s.types != nil && !s.types[fr.typ] {
			continue
		}
		s.buf.Write(fr.b)
	}
	if s.buf.Len() == 0 {
		return nil
	}
	return s.write(s.buf.Bytes())
}

// write writes b to the client and flushes it, within the write timeout.
func (s *stream) write(b []byte) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.api.stream.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("%w: %v", errClientGone, err)
	}
	if _, err := s.c.Response().Write(b); err != nil {
		return fmt.Errorf("%w: %v", errClientGone, err)
	}
	return s.flush()
}

func (s *stream) flush() error {
	if err := s.rc.Flush(); err != nil {
		return fmt.Errorf("%w: %v", errClientGone, err)
	}
	return nil
}
