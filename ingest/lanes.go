package ingest

// laneMemory is how many recent faults and alarms per shard the lane-copy
// check remembers. A copy arriving after this many others of its shard is
// counted as a duplicate instead (it is handled the same way).
const laneMemory = 4096

type laneKey struct {
	lift      string
	boot, seq int64
}

// laneSeen counts how often each lane delivered each recent fault and alarm
// of a shard, to tell a lane copy (the same message from the other lane of
// the input) from a duplicate (the same message once more: a terminal
// sending it twice, or the broker redelivering it, which then comes on both
// lanes too). Used by the shard's worker only.
type laneSeen struct {
	lanes map[laneKey][2]uint8 // deliveries per lane (saturating)
	ring  []laneKey
	next  int
}

// see records that lane delivered k and reports whether this delivery is
// the other lane's catching up (this lane has now delivered k no more often
// than the other): a lane copy.
func (s *laneSeen) see(k laneKey, lane uint8) bool {
	if s.lanes == nil {
		s.lanes = make(map[laneKey][2]uint8)
	}
	n, ok := s.lanes[k]
	if !ok {
		if len(s.ring) < laneMemory {
			s.ring = append(s.ring, k)
		} else {
			delete(s.lanes, s.ring[s.next])
			s.ring[s.next] = k
			s.next = (s.next + 1) % laneMemory
		}
	}
	other := 1 - lane&1
	if n[lane&1] < 255 {
		n[lane&1]++
	}
	s.lanes[k] = n
	return n[lane&1] <= n[other]
}
