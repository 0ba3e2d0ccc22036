package ingest

// laneMemory is how many recent faults and alarms per shard the lane-copy
// check remembers. A copy arriving after this many others of its shard is
// counted as a duplicate instead (it is handled the same way).
const laneMemory = 4096

type laneKey struct {
	lift      string
	boot, seq int64
}

// laneSeen remembers which lanes delivered each recent fault and alarm of a
// shard, to tell a lane copy (the same message from the other lane of the
// input) from a duplicate (the same message again on one lane: a terminal
// sending it twice, or the broker redelivering it). Used by the shard's
// worker only.
type laneSeen struct {
	lanes map[laneKey]uint8 // a bit per lane
	ring  []laneKey
	next  int
}

// see records that lane delivered k and reports whether another lane
// delivered it before and this lane had not: a lane copy.
func (s *laneSeen) see(k laneKey, lane uint8) bool {
	bit := uint8(1) << lane
	if s.lanes == nil {
		s.lanes = make(map[laneKey]uint8)
	}
	had, ok := s.lanes[k]
	if !ok {
		if len(s.ring) < laneMemory {
			s.ring = append(s.ring, k)
		} else {
			delete(s.lanes, s.ring[s.next])
			s.ring[s.next] = k
			s.next = (s.next + 1) % laneMemory
		}
	}
	s.lanes[k] = had | bit
	return had != 0 && had&bit == 0
}
