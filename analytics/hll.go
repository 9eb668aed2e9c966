package analytics

import (
	"math"
	"math/bits"
)

// hllP is the sketch's precision: 2^14 registers, as Redis uses, for a
// standard error of 1.04/sqrt(2^14) = 0.81%.
const hllP = 14

const hllM = 1 << hllP

// Sketch is a HyperLogLog: it estimates how many distinct 64-bit hashes
// were added, in 16 KiB whatever their number, with the 0.81% standard
// error of Redis's PFCOUNT. Its zero value is not usable; call newSketch.
// It is not safe for concurrent use.
type Sketch struct {
	reg []uint8
}

func newSketch() *Sketch { return &Sketch{reg: make([]uint8, hllM)} }

// Add adds a hash; its bits must be uniformly distributed (maphash).
func (s *Sketch) Add(h uint64) {
	i := h >> (64 - hllP)
	// The rank of the remaining 50 bits: position of the first 1, from 1;
	// the sentinel bit caps it at 51 when they are all zero.
	w := h<<hllP | 1<<(hllP-1)
	r := uint8(bits.LeadingZeros64(w)) + 1
	if r > s.reg[i] {
		s.reg[i] = r
	}
}

// Count estimates the number of distinct hashes added: the raw
// HyperLogLog estimate, with linear counting while it is small (under
// 2.5m, where the raw estimate is biased and empty registers are still
// counted exactly). With 64-bit hashes no large-range correction is
// needed.
func (s *Sketch) Count() uint64 {
	var sum float64
	zeros := 0
	for _, r := range s.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	m := float64(hllM)
	est := 0.7213 / (1 + 1.079/m) * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros))
	}
	return uint64(est + 0.5)
}
