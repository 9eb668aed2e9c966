package bans

import (
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
// Look-ups take no lock (sync.Map reads are lock-free), so checking
// requests never waits for an add. Writers (add, remove) must be
// serialised by the caller; each changes one entry and never copies the
// rest, so adding does not slow with the list. A full reload builds a
// new index and swaps it in whole.
type index struct {
	n    atomic.Int64 // bans held, expired ones not yet swept included
	byID sync.Map     // id → Ban
	ips  sync.Map     // netip.Addr → []Ban
	nets sync.Map     // masked netip.Prefix → []Ban
	keys sync.Map     // hex prefix → []Ban
	// Which prefix lengths (v4, v6) and key lengths some ban uses. A
	// length stays marked after its last ban goes; that costs one missed
	// look-up per request until the next reload.
	v4, v6, keyLens lengths
}

// The slices stored in the maps are never changed in place: a writer
// stores a new slice, so a reader holding the old one sees a consistent
// list.

func newIndex(list []Ban) *index {
	x := &index{}
	for _, b := range list {
		x.add(b)
	}
	return x
}

// add puts b in the index, unless a ban with its id is already there (an
// add and a reload may both bring the same ban).
func (x *index) add(b Ban) {
	if _, dup := x.byID.LoadOrStore(b.ID, b); dup {
		return
	}
	x.n.Add(1)
	switch {
	case b.IP != "":
		if a, err := netip.ParseAddr(b.IP); err == nil {
			push(&x.ips, a, b)
		}
	case b.Prefix != "":
		if p, err := netip.ParsePrefix(b.Prefix); err == nil {
			p = p.Masked()
			push(&x.nets, p, b)
			if p.Addr().Is4() {
				x.v4.set(p.Bits())
			} else {
				x.v6.set(p.Bits())
			}
		}
	case b.Key != "":
		push(&x.keys, b.Key, b)
		x.keyLens.set(len(b.Key))
	}
}

// remove takes the ban id out and reports whether it was there.
func (x *index) remove(id string) bool {
	v, ok := x.byID.LoadAndDelete(id)
	if !ok {
		return false
	}
	x.n.Add(-1)
	b := v.(Ban)
	switch {
	case b.IP != "":
		if a, err := netip.ParseAddr(b.IP); err == nil {
			pull(&x.ips, a, id)
		}
	case b.Prefix != "":
		if p, err := netip.ParsePrefix(b.Prefix); err == nil {
			pull(&x.nets, p.Masked(), id)
		}
	case b.Key != "":
		pull(&x.keys, b.Key, id)
	}
	return true
}

func push[K comparable](m *sync.Map, k K, b Ban) {
	old, _ := m.Load(k)
	list, _ := old.([]Ban)
	m.Store(k, append(list[:len(list):len(list)], b))
}

func pull[K comparable](m *sync.Map, k K, id string) {
	old, _ := m.Load(k)
	list, _ := old.([]Ban)
	var keep []Ban
	for _, b := range list {
		if b.ID != id {
			keep = append(keep, b)
		}
	}
	if len(keep) == 0 {
		m.Delete(k)
		return
	}
	m.Store(k, keep)
}

// active returns the first ban in force at now stored under k.
func active[K comparable](m *sync.Map, k K, now time.Time) (Ban, bool) {
	v, ok := m.Load(k)
	if !ok {
		return Ban{}, false
	}
	for _, b := range v.([]Ban) {
		if b.Active(now) {
			return b, true
		}
	}
	return Ban{}, false
}

// match returns a ban in force at now that covers a client at ip (already
// unmapped, possibly invalid) whose key has the hex parts keys. Longer
// prefixes are tried first, so the narrowest ban answers.
func (x *index) match(ip netip.Addr, keys []string, now time.Time) (Ban, bool) {
	if ip.IsValid() {
		if b, ok := active(&x.ips, ip, now); ok {
			return b, true
		}
		lens := &x.v6
		if ip.Is4() {
			lens = &x.v4
		}
		for bits := range lens.desc() {
			p, err := ip.Prefix(bits)
			if err != nil {
				continue
			}
			if b, ok := active(&x.nets, p, now); ok {
				return b, true
			}
		}
	}
	if len(keys) > 0 {
		for n := range x.keyLens.desc() {
			for _, k := range keys {
				if len(k) < n {
					continue
				}
				if b, ok := active(&x.keys, k[:n], now); ok {
					return b, true
				}
			}
		}
	}
	return Ban{}, false
}

// all returns every ban in the index, in no order.
func (x *index) all() []Ban {
	out := make([]Ban, 0, x.n.Load())
	x.byID.Range(func(_, v any) bool {
		out = append(out, v.(Ban))
		return true
	})
	return out
}

// lengths is a set of small numbers (0 to 191: prefix lengths up to 128,
// key lengths up to 64), safe for concurrent use.
type lengths [3]atomic.Uint64

func (l *lengths) set(n int) { l[n/64].Or(1 << (n % 64)) }

// desc yields the members, largest first.
func (l *lengths) desc() func(yield func(int) bool) {
	return func(yield func(int) bool) {
		for w := len(l) - 1; w >= 0; w-- {
			for set := l[w].Load(); set != 0; {
				hi := 63 - bits.LeadingZeros64(set)
				if !yield(w*64 + hi) {
					return
				}
				set &^= 1 << hi
			}
		}
	}
}
