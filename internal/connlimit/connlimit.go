// Package connlimit bounds how many connections a server holds open at
// once (MAX_CONNECTIONS), with a net.Listener that wraps the real one.
//
// Every open connection holds a file descriptor, a goroutine and its
// buffers, so without a bound a client that opens connections and never
// finishes a request (a "slowloris") grows the server until descriptors
// or memory run out. At the bound, the listener makes room by closing the
// oldest connection that is not serving a request (one still waiting for
// its request's headers, or idle between keep-alive requests); only when
// every connection is busy with a request does a new one wait briefly for
// a slot and then get a 503 and a close. A request in progress is never
// cut to admit another.
package connlimit

import (
	"container/list"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Listener.
type Options struct {
	// Max is the most connections open at once; at least 1.
	Max int
	// Wait is how long a new connection waits for a slot when every open
	// one is serving a request; default 100ms. Accept waits with it, so
	// connections behind it stay in the kernel's backlog meanwhile.
	Wait time.Duration
	// Logger is told, at most once per LogEvery, that the bound was
	// reached and what was done about it; default discards.
	Logger *slog.Logger
	// LogEvery spaces those lines; default 10s.
	LogEvery time.Duration
	// Now is the clock of LogEvery; default time.Now.
	Now func() time.Time
	// OnDrained, if set, is called once each time the open connections
	// fall to a quarter of Max after having reached it: the flood is
	// over, and what it held can be given back (the app returns memory
	// to the system then). It is called from a connection's Close, so it
	// should return quickly.
	OnDrained func()
}

// Stats counts what a Listener did. Open never exceeds Options.Max, nor
// does Peak.
type Stats struct {
	Open     int   // connections open now
	Peak     int   // most connections open at once
	Accepted int64 // connections handed to the server
	Evicted  int64 // open connections closed to make room
	Refused  int64 // new connections answered 503 and closed
}

// Listener is a net.Listener that keeps at most Options.Max connections
// open. Give its ConnState to the http.Server that serves it, so that it
// knows which connections are serving a request. It is safe for
// concurrent use.
type Listener struct {
	net.Listener
	opts Options

	mu    sync.Mutex
	conns list.List // of *conn, oldest first
	freed chan struct{}
	stats Stats
	// logged is when the bound was last logged; evicted and refused
	// count what happened since.
	logged           time.Time
	evicted, refused int64
	// full is set when the bound is reached, cleared when OnDrained is
	// called.
	full bool
}

// New wraps ln.
func New(ln net.Listener, opts Options) (*Listener, error) {
	if opts.Max < 1 {
		return nil, errors.New("connlimit: Max must be at least 1")
	}
	if opts.Wait <= 0 {
		opts.Wait = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LogEvery <= 0 {
		opts.LogEvery = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Listener{Listener: ln, opts: opts, freed: make(chan struct{}, 1)}, nil
}

// What a connection is doing, as http.Server reports it.
const (
	waiting int32 = iota // accepted, or idle between requests: may be evicted
	busy                 // serving a request, or hijacked: never evicted
)

// conn is one admitted connection.
type conn struct {
	net.Conn
	l    *Listener
	elem *list.Element
	// state is waiting or busy: an atomic, so that the two changes of
	// every request take no lock that all connections share.
	state atomic.Int32
	once  sync.Once
}

// Close closes the connection and frees its slot.
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c) })
	return err
}

// CloseWrite half-closes the connection when the real one can: Go's
// server uses it to send its answer before closing a connection whose
// request body it did not read, so that the client sees the answer
// rather than a reset.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Accept waits for a connection and admits it within the bound.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c := l.admit(nc); c != nil {
			return c, nil
		}
	}
}

// admit returns nc as an admitted conn, or refuses it and returns nil.
func (l *Listener) admit(nc net.Conn) net.Conn {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		l.mu.Lock()
		if l.conns.Len() < l.opts.Max {
			c := &conn{Conn: nc, l: l}
			c.elem = l.conns.PushBack(c)
			l.full = l.full || l.conns.Len() == l.opts.Max
			l.stats.Accepted++
			l.stats.Peak = max(l.stats.Peak, l.conns.Len())
			l.mu.Unlock()
			return c
		}
		victim := l.oldestWaiting(true)
		if victim != nil {
			l.stats.Evicted++
			l.evicted++
			l.logBound()
		}
		l.mu.Unlock()
		if victim != nil {
			victim.Close()
			continue
		}
		if timer == nil {
			timer = time.NewTimer(l.opts.Wait)
		}
		select {
		case <-l.freed:
			continue
		case <-timer.C:
		}
		l.mu.Lock()
		full := l.conns.Len() >= l.opts.Max && l.oldestWaiting(false) == nil
		if full {
			l.stats.Refused++
			l.refused++
			l.logBound()
		}
		l.mu.Unlock()
		if !full {
			continue
		}
		refuse(nc)
		return nil
	}
}

// refuse answers a connection past the bound with a short 503 and closes
// it. The write is bounded: a client that does not read is not waited for.
func refuse(nc net.Conn) {
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(nc, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 36\r\n\r\nServer busy: too many connections.\r\n")
	nc.Close()
}

// oldestWaiting is the oldest connection not serving a request, or nil;
// with claim, it is marked busy so that it is not chosen twice. l.mu is
// held. A request that starts at that moment finds its connection chosen
// (the server reads its headers before it says the connection is
// active), as it would under any lock.
func (l *Listener) oldestWaiting(claim bool) *conn {
	for e := l.conns.Front(); e != nil; e = e.Next() {
		c := e.Value.(*conn)
		if claim && c.state.CompareAndSwap(waiting, busy) || !claim && c.state.Load() == waiting {
			return c
		}
	}
	return nil
}

// logBound logs that the bound was reached, at most once per LogEvery,
// with what was done since the last line. l.mu is held.
func (l *Listener) logBound() {
	now := l.opts.Now()
	if !l.logged.IsZero() && now.Sub(l.logged) < l.opts.LogEvery {
		return
	}
	l.opts.Logger.Warn("connection limit reached: closing connections that wait for a request, answering 503 to new ones while all are busy (counts since the last such line; logged at most every log_every)",
		"max", l.opts.Max, "evicted", l.evicted, "refused", l.refused, "log_every", l.opts.LogEvery.String())
	l.logged, l.evicted, l.refused = now, 0, 0
}

// release frees c's slot.
func (l *Listener) release(c *conn) {
	l.mu.Lock()
	l.conns.Remove(c.elem)
	drained := l.full && l.conns.Len() <= l.opts.Max/4
	if drained {
		l.full = false
	}
	l.mu.Unlock()
	if drained && l.opts.OnDrained != nil {
		l.opts.OnDrained()
	}
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// ConnState is for http.Server.ConnState: it tells the listener which
// connections are serving a request, which it never closes.
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	switch s {
	case http.StateActive, http.StateHijacked:
		c.state.Store(busy)
	case http.StateIdle:
		c.state.Store(waiting)
	}
}

// Stats reports what the listener did so far.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Open = l.conns.Len()
	return s
}
