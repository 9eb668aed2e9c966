package bans

import (
	"math"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// index answers "which ban covers this client" in time that does not grow
// with the number of bans: an address is one map look-up, a range one
// look-up per prefix length in use (the address masked to that length),
// a key one look-up per key length in use and key part.
//
// The maps hold no pointers (keys are fixed-size arrays, values slot
// numbers into bans), so the garbage collector does not walk them. Held
// in boxed entries, as sync.Map keeps them, 100,000 bans took about 500
// bytes each in small objects that every collection walks; here they
// take about 200 (BenchmarkHeld).
//
// Checks take the read lock; an add or removal takes the write lock for
// one entry, never copying the rest, so adding does not slow with the
// list and checks wait at most that long. A full reload builds a new
// index aside and swaps it in whole.
type index struct {
	n atomic.Int64 // bans held, expired ones not yet swept included

	mu    sync.RWMutex
	slots [][]slot // in chunks, so that growing never copies the bans
	used  int32    // slots handed out
	free  []int32  // free slots
	byID  map[string]int32
	ips   map[[16]byte]int32 // address → first slot
	nets  map[netKey]int32   // masked range → first slot
	keys  map[keyKey]int32   // hex prefix → first slot
	// Which prefix lengths (v4, v6) and key lengths some ban uses. A
	// length stays marked after its last ban goes; that costs one missed
	// look-up per request until the next reload.
	v4, v6, keyLens lengths
	// soonest is the earliest end (Unix nanoseconds) of a ban added,
	// math.MaxInt64 for none; a removal leaves it, which costs at most an
	// early sweep.
	soonest int64
}

// slot holds one ban; a free slot has ID "".
type slot struct {
	ban  Ban
	next int32 // the next slot with the same target, or -1
}

// chunk is how many slots are allocated at once. Adding a ban then holds
// the write lock for a bounded time, never for a copy of the whole list.
const chunk = 1024

func (x *index) at(n int32) *slot { return &x.slots[n/chunk][n%chunk] }

type netKey struct {
	addr [16]byte
	bits uint8
	v4   bool
}

type keyKey struct {
	hex [64]byte
	n   uint8
}

func toKey(s string) keyKey {
	var k keyKey
	k.n = uint8(copy(k.hex[:], s))
	return k
}

func newIndex(list []Ban) *index {
	x := &index{
		byID: make(map[string]int32, len(list)),
		ips:  map[[16]byte]int32{},
		nets: map[netKey]int32{},
		keys: map[keyKey]int32{},

		soonest: math.MaxInt64,
	}
	for _, b := range list {
		x.add(b)
	}
	return x
}

// target is where a ban is filed: one of the three maps and its key.
type target struct {
	ip  *[16]byte
	net *netKey
	key *keyKey
}

func targetOf(b Ban) (target, bool) {
	switch {
	case b.IP != "":
		a, err := netip.ParseAddr(b.IP)
		if err != nil {
			return target{}, false
		}
		k := a.Unmap().As16()
		return target{ip: &k}, true
	case b.Prefix != "":
		p, err := netip.ParsePrefix(b.Prefix)
		if err != nil {
			return target{}, false
		}
		p = p.Masked()
		return target{net: &netKey{addr: p.Addr().As16(), bits: uint8(p.Bits()), v4: p.Addr().Is4()}}, true
	case b.Key != "" && len(b.Key) <= 64:
		k := toKey(b.Key)
		return target{key: &k}, true
	}
	return target{}, false
}

// head returns the first slot filed under t, if any.
func (x *index) head(t target) (int32, bool) {
	switch {
	case t.ip != nil:
		s, ok := x.ips[*t.ip]
		return s, ok
	case t.net != nil:
		s, ok := x.nets[*t.net]
		return s, ok
	}
	s, ok := x.keys[*t.key]
	return s, ok
}

func (x *index) setHead(t target, first int32) {
	switch {
	case t.ip != nil:
		if first < 0 {
			delete(x.ips, *t.ip)
		} else {
			x.ips[*t.ip] = first
		}
	case t.net != nil:
		if first < 0 {
			delete(x.nets, *t.net)
		} else {
			x.nets[*t.net] = first
		}
	default:
		if first < 0 {
			delete(x.keys, *t.key)
		} else {
			x.keys[*t.key] = first
		}
	}
}

// add puts b in the index, unless a ban with its id is already there (an
// add and a reload may both bring the same ban) or it names nothing.
func (x *index) add(b Ban) {
	t, ok := targetOf(b)
	if !ok {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, dup := x.byID[b.ID]; dup {
		return
	}
	var n int32
	if f := len(x.free); f > 0 {
		n = x.free[f-1]
		x.free = x.free[:f-1]
	} else {
		if x.used%chunk == 0 {
			x.slots = append(x.slots, make([]slot, chunk))
		}
		n = x.used
		x.used++
	}
	s := x.at(n)
	s.ban, s.next = b, -1
	if first, ok := x.head(t); ok {
		s.next = first
	}
	x.setHead(t, n)
	x.byID[b.ID] = n
	if b.Until != nil {
		x.soonest = min(x.soonest, b.Until.UnixNano())
	}
	switch {
	case t.net != nil && t.net.v4:
		x.v4.set(int(t.net.bits))
	case t.net != nil:
		x.v6.set(int(t.net.bits))
	case t.key != nil:
		x.keyLens.set(int(t.key.n))
	}
	x.n.Add(1)
}

// remove takes the ban id out and reports whether it was there.
func (x *index) remove(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	n, ok := x.byID[id]
	if !ok {
		return false
	}
	gone := x.at(n)
	t, _ := targetOf(gone.ban)
	if first, _ := x.head(t); first == n {
		x.setHead(t, gone.next)
	} else {
		for s := first; s >= 0; s = x.at(s).next {
			if x.at(s).next == n {
				x.at(s).next = gone.next
				break
			}
		}
	}
	delete(x.byID, id)
	*gone = slot{}
	x.free = append(x.free, n)
	x.n.Add(-1)
	return true
}

// active returns, of the bans in the chain from slot that are in force
// at now, the one that lasts longest, so that a refusal tells the real
// end of the ban.
func (x *index) active(n int32, ok bool, now time.Time) (Ban, bool) {
	var best Ban
	found := false
	for ; ok && n >= 0; n = x.at(n).next {
		b := x.at(n).ban
		if !b.Active(now) {
			continue
		}
		if !found || best.Until != nil && (b.Until == nil || b.Until.After(*best.Until)) {
			best, found = b, true
		}
	}
	return best, found
}

// match returns a ban in force at now that covers a client at ip (already
// unmapped, possibly invalid) whose key has the hex parts keys. Longer
// prefixes are tried first, so the narrowest ban answers.
func (x *index) match(ip netip.Addr, keys []string, now time.Time) (Ban, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if ip.IsValid() {
		first, ok := x.ips[ip.As16()]
		if b, ok := x.active(first, ok, now); ok {
			return b, true
		}
		lens := &x.v6
		if ip.Is4() {
			lens = &x.v4
		}
		for n := range lens.desc() {
			p, err := ip.Prefix(n)
			if err != nil {
				continue
			}
			first, ok := x.nets[netKey{addr: p.Addr().As16(), bits: uint8(n), v4: ip.Is4()}]
			if b, ok := x.active(first, ok, now); ok {
				return b, true
			}
		}
	}
	for n := range x.keyLens.desc() {
		for _, k := range keys {
			if len(k) < n {
				continue
			}
			first, ok := x.keys[toKey(k[:n])]
			if b, ok := x.active(first, ok, now); ok {
				return b, true
			}
		}
	}
	return Ban{}, false
}

// expiredBy reports whether a ban in the index may have ended by now.
func (x *index) expiredBy(now time.Time) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.soonest <= now.UnixNano()
}

// all returns every ban in the index, in no order.
func (x *index) all() []Ban {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]Ban, 0, len(x.byID))
	for _, c := range x.slots {
		for _, s := range c {
			if s.ban.ID != "" {
				out = append(out, s.ban)
			}
		}
	}
	return out
}

// lengths is a set of small numbers (0 to 191: prefix lengths up to 128,
// key lengths up to 64).
type lengths [3]uint64

func (l *lengths) set(n int) { l[n/64] |= 1 << (n % 64) }

// desc yields the members, largest first.
func (l *lengths) desc() func(yield func(int) bool) {
	return func(yield func(int) bool) {
		for w := len(l) - 1; w >= 0; w-- {
			for set := l[w]; set != 0; {
				hi := 63 - bits.LeadingZeros64(set)
				if !yield(w*64 + hi) {
					return
				}
				set &^= 1 << hi
			}
		}
	}
}
