package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Consumer receives every accepted, non-duplicate message, in order per lift,
// and every fault and alarm whatever duplicate detection says of it: too far
// behind its lift's sequence to be checked for repeats (a "stale" one), or a
// duplicate (u.Duplicate: seen before, maybe by a run that stopped before
// writing what it caused). A consumer of those must be idempotent on
// (lift, boot, seq).
// Each message comes with what applying it to the lift's live state did (u:
// the car after it, whether it is late or a redelivery).
// Consume runs on the ingest path and must return quickly; m and u are only
// valid during the call.
type Consumer interface {
	Consume(m *telemetry.Message, u *liftstate.Update)
}

// StateChange reports a lift going online or offline (see liftstate).
type StateChange = liftstate.Transition

// Config configures an Ingester.
type Config struct {
	Root        string
	Decoder     telemetry.Decoder
	MaxUnacked  int          // messages received but not acked (default 20000)
	Shards      int          // parallel lift shards (default GOMAXPROCS)
	SpoolDir    string       // required
	Spool       SpoolOptions //
	BatchPoints int          // points per store write (default 5000)
	// FlushInterval is the longest a point waits for its batch to fill
	// before it is written anyway (default 1s).
	FlushInterval time.Duration
	// SyncDelay is how long the spool writer waits to gather more messages
	// into one fsync when they trickle in (default 5ms): at low rates one
	// fsync per message was most of the service's CPU.
	SyncDelay    time.Duration
	OfflineAfter time.Duration // default 3 minutes
	DeadLetters  int           // rejections kept in memory for the API (default 1000)
	// DeadLetterBytes bounds the rejected messages kept on disk in
	// DeadLetterDir (default DefaultDeadLetterBytes, 64 MiB).
	DeadLetterBytes int64
	FlushTimeout    time.Duration // at shutdown, time to flush the spool (default 5s)
	Clock           func() time.Time
	Logger          *slog.Logger

	// DeadLetterDir holds the files of rejected messages and of points the
	// store rejected as invalid (default <SpoolDir>/deadletter).
	DeadLetterDir string
	// MaxBackoff caps the wait between retries of a failed store write
	// (default 10s).
	MaxBackoff time.Duration
	// StoreLogEvery is how often a failing store is logged (default 1m).
	StoreLogEvery time.Duration
	// GapGrace is how long a hole in a lift's sequence waits for a late,
	// reordered message before it is counted as a gap (default
	// DefaultGapGrace); a hole leaving the duplicate window counts at once.
	GapGrace time.Duration
	// WriteBehind, if set, is what persists the consumers' changes after
	// Consume returns (the alert outbox): a message is acked only once it is
	// in the spool and the changes its consumers queued are written.
	WriteBehind WriteBehind
	// TraceLift, if set, logs (at info) when each message of this lift
	// passed each hop of the pipeline (trace.go): to find where an alert's
	// latency goes.
	TraceLift string
}

// WriteBehind is a queue that persists changes after whoever made them has
// moved on (the alert outbox). Mark returns a position covering everything
// queued so far; WaitWritten returns once everything up to mark is written,
// or with ctx's error.
type WriteBehind interface {
	Mark() uint64
	WaitWritten(ctx context.Context, mark uint64) error
}

// Ingester is the pipeline; see the package doc.
type Ingester struct {
	cfg       Config
	reg       *registry.Index
	sink      Sink
	spool     *Spool
	state     *liftstate.Store
	dead      *DeadLetters
	m         *metrics
	log       *slog.Logger
	consumers []Consumer
	onChange  []func(StateChange)

	seed     maphash.Seed
	sem      chan struct{}
	stop     chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	shards   []chan *inbound
	toSpool  chan *accepted
	dispatch []chan dispatchItem
	seqs     []map[string]*liftSeq // per shard, under seqMu[shard]: its worker and the gap sweep
	seqMu    []sync.Mutex
	laneSeen []laneSeen // per shard, its worker's only
	gaps     gapReport
	unacked  atomic.Int64
	sinkErr  atomic.Pointer[error]
	rejects  *StoreRejects
	drainer  drainState // owned by the drain loop
}

type inbound struct {
	topic   string
	payload []byte
	ack     func()
	recv    time.Time
	shard   int
	lane    uint8       // Delivery.Lane
	trace   *traceTimes // nil unless its lift is traced (Config.TraceLift)
}

type accepted struct {
	in      *inbound
	rec     []byte
	msg     telemetry.Message
	consume bool // to the consumers too, not only the live state
	// dup: a fault or alarm duplicate detection had seen (it is in the
	// spool already): not spooled again, handed to the consumers marked
	// (liftstate.Update.Duplicate), acked like the others.
	dup bool
}

type dispatchItem struct {
	msg     telemetry.Message
	recv    time.Time
	consume bool
	dup     bool
	batch   *batch // told when the consumers are done with msg
	trace   *traceTimes
	lane    uint8
}

// New builds an ingester; Run starts it. Consumers must be added before Run.
func New(cfg Config, reg *registry.Index, sink Sink, promReg prometheus.Registerer) (*Ingester, error) {
	if cfg.Root == "" {
		cfg.Root = telemetry.DefaultRoot
	}
	if err := telemetry.ValidRoot(cfg.Root); err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	if cfg.SpoolDir == "" {
		return nil, errors.New("ingest: spool directory is required")
	}
	if cfg.MaxUnacked <= 0 {
		cfg.MaxUnacked = 20000
	}
	if cfg.Shards <= 0 {
		cfg.Shards = runtime.GOMAXPROCS(0)
	}
	if cfg.BatchPoints <= 0 {
		cfg.BatchPoints = 5000
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.SyncDelay <= 0 {
		cfg.SyncDelay = 5 * time.Millisecond
	}
	if cfg.OfflineAfter <= 0 {
		cfg.OfflineAfter = 3 * time.Minute
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = 5 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.DeadLetterDir == "" {
		cfg.DeadLetterDir = filepath.Join(cfg.SpoolDir, "deadletter")
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.StoreLogEvery <= 0 {
		cfg.StoreLogEvery = time.Minute
	}
	if cfg.GapGrace <= 0 {
		cfg.GapGrace = DefaultGapGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	rejects, err := OpenStoreRejects(cfg.DeadLetterDir)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	dead, err := OpenDeadLetters(cfg.DeadLetterDir, cfg.DeadLetters, cfg.DeadLetterBytes)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	sp, err := OpenSpool(cfg.SpoolDir, cfg.Spool)
	if err != nil {
		dead.Close()
		return nil, fmt.Errorf("ingest: %w", err)
	}
	ing := &Ingester{cfg: cfg, reg: reg, sink: sink, spool: sp, state: liftstate.New(reg, liftstate.Options{OfflineAfter: cfg.OfflineAfter}),
		dead: dead, log: cfg.Logger, seed: maphash.MakeSeed(),
		sem: make(chan struct{}, cfg.MaxUnacked), stop: make(chan struct{}),
		toSpool: make(chan *accepted, cfg.MaxUnacked), rejects: rejects}
	for i := 0; i < cfg.Shards; i++ {
		ing.shards = append(ing.shards, make(chan *inbound, cfg.MaxUnacked))
		ing.dispatch = append(ing.dispatch, make(chan dispatchItem, 4096))
		ing.seqs = append(ing.seqs, map[string]*liftSeq{})
	}
	ing.seqMu = make([]sync.Mutex, cfg.Shards)
	ing.laneSeen = make([]laneSeen, cfg.Shards)
	if promReg == nil {
		promReg = prometheus.NewRegistry()
	}
	ing.m = newMetrics(promReg, ing)
	// Rebuild duplicate detection from what the spool still holds.
	now := cfg.Clock()
	n := 0
	if err := sp.Replay(func(r *Record) {
		ing.seq(ing.shardOf(r.Lift), r.Lift).check(r.Boot, r.Seq, now)
		n++
	}); err != nil {
		sp.Close()
		return nil, fmt.Errorf("ingest: rebuild duplicate detection: %w", err)
	}
	// The holes among the replayed messages were judged by the previous run.
	for _, m := range ing.seqs {
		for _, sq := range m {
			sq.forget()
		}
	}
	recs, _ := sp.Depth()
	ing.log.Info("spool opened", "dir", cfg.SpoolDir, "replayed", n, "undrained", recs)
	return ing, nil
}

// AddConsumer registers a consumer; call before Run.
func (ing *Ingester) AddConsumer(c Consumer) { ing.consumers = append(ing.consumers, c) }

// OnStateChange registers a callback for lifts going offline or coming back;
// call before Run.
func (ing *Ingester) OnStateChange(f func(StateChange)) { ing.onChange = append(ing.onChange, f) }

// State is the live lift state; ingest is its writer.
func (ing *Ingester) State() *liftstate.Store { return ing.state }

// DeadLetters are the recent rejections.
func (ing *Ingester) DeadLetters() *DeadLetters { return ing.dead }

// Spool is the durable spool.
func (ing *Ingester) Spool() *Spool { return ing.spool }

// Unacked is the number of messages received and not yet acknowledged:
// near zero at live rates, up to MaxUnacked while a backlog drains.
func (ing *Ingester) Unacked() int64 { return ing.unacked.Load() }

func (ing *Ingester) now() time.Time { return ing.cfg.Clock() }

func (ing *Ingester) shardOf(lift string) int {
	return int(maphash.String(ing.seed, lift) % uint64(len(ing.shards)))
}

func (ing *Ingester) seq(shard int, lift string) *liftSeq {
	s := ing.seqs[shard][lift]
	if s == nil {
		s = &liftSeq{grace: int64(ing.cfg.GapGrace)}
		ing.seqs[shard][lift] = s
	}
	return s
}

// Offer hands one received message to the pipeline; ack is called once the
// message may be acknowledged to the broker. It blocks while MaxUnacked
// messages are outstanding and returns false if the ingester is stopping
// (the message is then not acked and the broker will redeliver it).
func (ing *Ingester) Offer(topic string, payload []byte, ack func()) bool {
	return ing.offer(topic, payload, ack, LaneMain)
}

func (ing *Ingester) offer(topic string, payload []byte, ack func(), lane uint8) bool {
	select {
	case ing.sem <- struct{}{}:
	case <-ing.stop:
		return false
	}
	ing.closeMu.RLock()
	defer ing.closeMu.RUnlock()
	if ing.closed {
		<-ing.sem
		return false
	}
	ing.m.unacked.Set(float64(ing.unacked.Add(1)))
	in := &inbound{topic: topic, payload: payload, ack: ack, recv: ing.now(), lane: lane}
	// Shard by the lift level of the topic without a full parse; a topic that
	// does not parse goes to shard 0 to be rejected there.
	lift := ""
	if rest, ok := strings.CutPrefix(topic, ing.cfg.Root+"/"); ok {
		lift, _, _ = strings.Cut(rest, "/")
	}
	in.shard = ing.shardOf(lift)
	if ing.cfg.TraceLift != "" && lift == ing.cfg.TraceLift {
		in.trace = &traceTimes{received: time.Now()}
	}
	ing.shards[in.shard] <- in
	return true
}

// release acknowledges a message and frees its slot.
func (ing *Ingester) release(in *inbound) {
	if in.ack != nil {
		in.ack()
	}
	ing.m.unacked.Set(float64(ing.unacked.Add(-1)))
	<-ing.sem
}

func (ing *Ingester) reject(in *inbound, err error) {
	if in.lane == LaneUrgent {
		// The urgent lane carries copies of the main lane's faults and
		// alarms: the main lane's copy of this one is rejected, counted and
		// dead-lettered, once.
		ing.m.laneRejectCopies.Inc()
		ing.release(in)
		return
	}
	if c := ing.m.rejectedBy[telemetry.ReasonOf(err)]; c != nil {
		c.Inc()
	} else {
		ing.m.rejected.WithLabelValues(string(telemetry.ReasonOf(err))).Inc()
	}
	if derr := ing.dead.Add(in.recv, in.topic, in.payload, err); derr != nil {
		ing.m.deadLetterErrors.Inc()
		ing.log.Error("rejected message not written to the dead-letter file", "topic", in.topic, "reason", telemetry.ReasonOf(err), "err", derr)
	}
	ing.release(in)
}

// work is one shard worker: validation and duplicate detection for the lifts
// hashed to it, in arrival order.
func (ing *Ingester) work(shard int) {
	var m telemetry.Message
	for in := range ing.shards[shard] {
		lift, kind, err := telemetry.ParseTopic(ing.cfg.Root, in.topic)
		if err != nil {
			ing.m.receivedBy[telemetry.KindInvalid].Inc()
			ing.reject(in, err)
			continue
		}
		ing.m.receivedBy[kind].Inc()
		l, ok := ing.reg.Get(lift)
		if !ok {
			ing.reject(in, &telemetry.DecodeError{Reason: telemetry.ReasonUnknownLift, Msg: "lift " + lift + " is not registered"})
			continue
		}
		m.Has = 0 // a decode refused before parsing leaves m as the last message was
		if err := ing.cfg.Decoder.Decode(l.ID, kind, in.payload, in.recv, &m); err != nil {
			if m.Has&(telemetry.FieldBoot|telemetry.FieldSeq) == telemetry.FieldBoot|telemetry.FieldSeq && m.Seq >= 1 && m.Boot >= 0 &&
				telemetry.ReasonOf(err) != telemetry.ReasonLiftMismatch { // another lift's number
				// liftwatch rejected it, the broker did not lose it: its
				// number is taken, not a gap upstream.
				ing.seqMu[shard].Lock()
				c := ing.seq(shard, l.ID).rejected(m.Boot, m.Seq, in.recv)
				ing.seqMu[shard].Unlock()
				ing.countGaps(l.ID, c, in.recv)
			}
			ing.reject(in, err)
			continue
		}
		ing.seqMu[shard].Lock()
		sq := ing.seq(shard, l.ID)
		v, c := sq.check(m.Boot, m.Seq, in.recv)
		back := sq.backwards(v)
		boot, newest := sq.newest()
		ing.seqMu[shard].Unlock()
		ing.countGaps(l.ID, c, in.recv)
		if in.trace != nil {
			in.trace.checked = time.Now()
		}
		// A fault or alarm comes on both lanes of an input that has an
		// urgent one: the second is a lane copy, not a duplicate.
		laneCopy := (kind == telemetry.KindFault || kind == telemetry.KindAlarm) &&
			ing.laneSeen[shard].see(laneKey{l.ID, m.Boot, m.Seq}, in.lane)
		switch v {
		case suspect:
			ing.m.suspectSequences.Inc()
			if kind != telemetry.KindFault && kind != telemetry.KindAlarm {
				ing.reject(in, &telemetry.DecodeError{Reason: telemetry.ReasonSuspectSeq, Field: "seq",
					Msg: fmt.Sprintf("%d (boot %d) is further ahead of the lift's newest, %d (boot %d), than any terminal jumps (at most %d numbers, %d boots)", m.Seq, m.Boot, newest, boot, maxSeqJump, maxBootJump)})
				continue
			}
			// A fault or alarm always reaches the alert engine (idempotent
			// on (lift, boot, seq)), whatever its number; it is stored like
			// a stale one and moves nothing in the sequence.
			if laneCopy {
				ing.m.laneCopies.Inc()
				ing.toSpool <- &accepted{in: in, msg: m, consume: true, dup: true}
				continue
			}
			ing.log.Warn("fault or alarm with a suspect sequence number handed on", "lift", l.ID, "kind", kind.String(),
				"boot", m.Boot, "seq", m.Seq, "newest_boot", boot, "newest_seq", newest)
		case duplicate:
			if laneCopy {
				ing.m.laneCopies.Inc()
			} else {
				ing.m.duplicates.Inc()
				ing.state.AddDuplicate(l.ID)
			}
			if kind != telemetry.KindFault && kind != telemetry.KindAlarm {
				ing.release(in)
				continue
			}
			// A fault or alarm seen before may never have reached the alert
			// store: a crash after its spool fsync and before the outbox
			// wrote what it caused, and the broker delivers it again. It goes
			// to the consumers again, marked, and is acked only once what
			// they queued is written; it is not spooled twice. The engine is
			// idempotent on (lift, boot, seq).
			ing.toSpool <- &accepted{in: in, msg: m, consume: true, dup: true}
			continue
		case stale:
			ing.m.stale.Inc()
			if back {
				// Reported once per run of stale messages: a terminal that
				// reset its counter without a new boot, or a backlog
				// delivered out of order.
				ing.m.backwards.Inc()
				ing.log.Warn("lift sequence went backwards beyond the duplicate window", "lift", l.ID,
					"kind", kind.String(), "boot", m.Boot, "seq", m.Seq, "newest_boot", boot, "newest_seq", newest, "window", dedupWindow)
			}
			ing.state.AddStale(l.ID, in.recv)
		}
		ing.m.acceptedBy[kind].Inc()
		line := telemetry.AppendLine(make([]byte, 0, 384), &m, l.Estate)
		r := Record{Kind: kind, Lift: l.ID, Boot: m.Boot, Seq: m.Seq, RecvMS: in.recv.UnixMilli(), PointNS: m.PointTime(), Line: line}
		// Every fault and alarm reaches the consumers, whatever its place in
		// the sequence: the alert engine is idempotent on (lift, boot, seq)
		// and judges by event time. Other stale kinds update the live state
		// only (they cannot be told from repeats).
		consume := v == fresh || kind == telemetry.KindFault || kind == telemetry.KindAlarm
		ing.toSpool <- &accepted{in: in, rec: appendRecord(make([]byte, 0, len(line)+64), &r), msg: m, consume: consume}
	}
}

// A batch is what the spool writer takes from the shard workers at once:
// handed to the dispatchers at once, then fsynced (grouped with its
// neighbours), then acked once it is durable and its consumers are done.
type batch struct {
	items []*accepted
	left  atomic.Int64  // items not yet through the dispatchers
	done  chan struct{} // closed when left reaches 0
	// synced is set by the syncer: false if the batch could not be spooled
	// (shutting down): then nothing of it is acked.
	synced bool
}

func (b *batch) consumed() {
	if b.left.Add(-1) == 0 {
		close(b.done)
	}
}

// spoolWriter takes accepted messages in batches and hands each message to
// its dispatcher at once, before the fsync: the alert path does not wait for
// the disk. The batch then goes to the syncer, which appends and fsyncs, and
// to the acker. Nothing is acked before it is in the spool.
func (ing *Ingester) spoolWriter(toSync chan<- *batch) {
	const maxBatch = 4096
	for first := range ing.toSpool {
		items := append(make([]*accepted, 0, 16), first)
	more:
		for len(items) < maxBatch {
			select {
			case a, ok := <-ing.toSpool:
				if !ok {
					break more
				}
				items = append(items, a)
			default:
				break more
			}
		}
		b := &batch{items: items, done: make(chan struct{})}
		b.left.Store(int64(len(items)))
		for _, a := range items {
			if a.in.trace != nil {
				a.in.trace.dispatched = time.Now()
			}
			ing.dispatch[a.in.shard] <- dispatchItem{msg: a.msg, recv: a.in.recv, consume: a.consume, dup: a.dup, batch: b, trace: a.in.trace, lane: a.in.lane}
		}
		toSync <- b
	}
}

// syncer appends batches to the spool, gathering those that trickle in for
// up to SyncDelay into one fsync (at once from 32 messages), and passes them
// to the acker. A spool write failure is fatal (reported on fatal): the
// messages were already marked seen, so carrying on could lose them; the
// batches after it are released unacked, and the broker redelivers them.
func (ing *Ingester) syncer(ctx context.Context, from <-chan *batch, toAck chan<- *batch, fatal chan<- error) {
	const maxRecords = 4096
	const enough = 32 // this many messages are synced without waiting for more
	var group []*batch
	var buf []byte
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	failed := false
	for first := range from {
		group = append(group[:0], first)
		n := len(first.items)
		linger.Reset(ing.cfg.SyncDelay)
		lingering := true
	more:
		for n < maxRecords {
			select {
			case b, ok := <-from:
				if !ok {
					break more
				}
				group, n = append(group, b), n+len(b.items)
				continue
			default:
			}
			if !lingering || n >= enough {
				break
			}
			select {
			case b, ok := <-from:
				if !ok {
					break more
				}
				group, n = append(group, b), n+len(b.items)
			case <-linger.C:
				lingering = false
			}
		}
		if lingering && !linger.Stop() {
			<-linger.C
		}
		if !failed {
			buf = buf[:0]
			recs := 0
			for _, b := range group {
				for _, a := range b.items {
					if len(a.rec) > 0 { // duplicates handed on again are not spooled twice
						buf = append(buf, a.rec...)
						recs++
					}
				}
			}
			var err error
			if recs > 0 {
				err = ing.spool.Append(ctx, buf, recs)
			}
			if err != nil {
				if ctx.Err() == nil {
					failed = true
					fatal <- fmt.Errorf("spool append: %w", err)
				}
				// Otherwise shutting down with a full spool: leave these
				// unacked; the broker redelivers them.
			} else {
				for _, b := range group {
					b.synced = true
				}
			}
		}
		for _, b := range group {
			toAck <- b
		}
	}
}

// acker acknowledges each spooled batch, in order, once its messages have
// been through the consumers and whatever the consumers queued for writing
// behind (the alert outbox) up to then is written: a crash before that
// leaves the messages unacked, and the broker delivers them again. A batch
// not spooled, or not written behind by the end of the shutdown flush, is
// released unacked.
func (ing *Ingester) acker(ctx context.Context, from <-chan *batch) {
	wb := ing.cfg.WriteBehind
	for b := range from {
		<-b.done
		ok := b.synced
		if ok && wb != nil {
			start := time.Now()
			if err := wb.WaitWritten(ctx, wb.Mark()); err != nil {
				ok = false
				ing.log.Warn("consumers' changes not written in time; leaving messages unacked for redelivery", "messages", len(b.items), "err", err)
			}
			ing.m.ackWait.Observe(time.Since(start).Seconds())
		}
		for _, a := range b.items {
			if !ok {
				a.in.ack = nil
			}
			ing.release(a.in)
		}
	}
}

// dispatchLoop updates the live state with one shard's messages and feeds
// them to the consumers, in order.
func (ing *Ingester) dispatchLoop(shard int) {
	for it := range ing.dispatch[shard] {
		m := it.msg
		u, _ := ing.state.Observe(&m, it.recv, it.consume)
		u.Duplicate = it.dup
		if u.Came != 0 {
			ing.m.stateChanges.WithLabelValues("online").Inc()
			for _, f := range ing.onChange {
				f(StateChange{Lift: m.Lift, Online: true, Seq: u.Came, LastSeen: it.recv})
			}
		}
		if it.trace != nil {
			ing.logTrace(&m, it)
		}
		if it.consume {
			for _, c := range ing.consumers {
				c.Consume(&m, &u)
			}
		}
		it.batch.consumed()
	}
}

// drain writes the spool to the sink in batches of BatchPoints, or what has
// come within FlushInterval, until ctx ends; final drains what is there
// without waiting. A batch is committed only once each of its records is in
// the store or, if the store rejected it as invalid, in the dead-letter file.
func (ing *Ingester) drain(ctx context.Context, final bool) {
	lastFlush := time.Time{}
	for {
		if ctx.Err() != nil {
			return
		}
		wait := 500 * time.Millisecond
		if !final {
			ing.spool.WaitFor(ctx, int64(ing.batchPoints()), lastFlush.Add(ing.cfg.FlushInterval), 100*time.Millisecond)
			wait = 0
		}
		b, err := ing.spool.Read(ctx, ing.batchPoints(), 8<<20, wait)
		if err != nil {
			if ctx.Err() == nil {
				ing.log.Error("spool read failed", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(b.Records) == 0 {
			if final {
				return
			}
			continue
		}
		if !ing.store(ctx, b.Records) {
			return // shutting down: the batch stays in the spool for the final flush or the next start
		}
		lastFlush = time.Now()
		if err := ing.spool.Commit(b); err != nil {
			ing.log.Error("spool commit failed", "err", err)
		}
	}
}

// drainState is the drain loop's memory across batches.
type drainState struct {
	backoff time.Duration
	limit   int // batch size after a 413; 0: BatchPoints

	failing  bool      // the store is refusing writes
	since    time.Time // first failure of this run of failures
	lastLog  time.Time
	failures int // since the last log line
	total    int // in this run of failures
}

func (ing *Ingester) batchPoints() int {
	if l := ing.drainer.limit; l > 0 && l < ing.cfg.BatchPoints {
		return l
	}
	return ing.cfg.BatchPoints
}

// store writes recs until every one is either stored or, if the store
// rejected it as invalid, in the dead-letter file. A rejected batch is
// bisected to find exactly the invalid points (the store writes the valid
// ones of a partial write, and writing them again is harmless); a batch too
// large for the store is split. Any failure that is not the data's fault is
// retried with capped backoff, for as long as it takes. It returns false if
// ctx ended first.
func (ing *Ingester) store(ctx context.Context, recs []Record) bool {
	d := &ing.drainer
	pending := [][]Record{recs} // a stack; the top is written next
	for len(pending) > 0 {
		part := pending[len(pending)-1]
		start := time.Now()
		err := ing.sink.Write(ctx, part)
		ing.m.writeLatency.Observe(time.Since(start).Seconds())
		if err == nil {
			pending = pending[:len(pending)-1]
			ing.m.pointsWritten.Add(float64(len(part)))
			ing.storeRecovered()
			continue
		}
		if ctx.Err() != nil {
			return false
		}
		ing.m.writeFailures.Inc()
		var rej *history.RejectedError
		var se *history.StoreError
		switch {
		case errors.As(err, &rej):
			ing.m.writeError("invalid_points").Inc()
			if len(part) > 1 {
				h := len(part) / 2
				pending = append(pending[:len(pending)-1], part[h:], part[:h])
				continue
			}
			if derr := ing.deadLetter(&part[0], rej); derr != nil {
				err = derr // kept in the spool: retried below
				break
			}
			pending = pending[:len(pending)-1]
			continue
		case errors.As(err, &se) && se.TooLarge() && len(part) > 1:
			ing.m.writeError(se.Reason).Inc()
			h := len(part) / 2
			if d.limit == 0 || h < d.limit {
				d.limit = max(h, 1)
				ing.log.Warn("store refused a batch as too large; writing smaller batches from now on", "points", len(part), "batch_points", d.limit)
			}
			pending = append(pending[:len(pending)-1], part[h:], part[:h])
			continue
		case errors.As(err, &se):
			ing.m.writeError(se.Reason).Inc()
		default:
			ing.m.writeError("unavailable").Inc()
		}
		ing.storeFailed(err, len(part))
		if !sleep(ctx, d.backoff) {
			return false
		}
		d.backoff = min(d.backoff*2, ing.cfg.MaxBackoff)
	}
	return true
}

// deadLetter moves one rejected record to the dead-letter file.
func (ing *Ingester) deadLetter(r *Record, rej *history.RejectedError) error {
	line := string(r.Line)
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	e := StoreReject{Time: ing.now().UTC(), Lift: r.Lift, Kind: r.Kind.String(), Boot: r.Boot, Seq: r.Seq,
		PointTime: time.Unix(0, r.PointNS).UTC(), Line: line, Status: rej.Status, Error: rej.Msg}
	if err := ing.rejects.Add(e); err != nil {
		return fmt.Errorf("store rejected a point (%s) and the dead-letter file could not take it: %w", rej.Msg, err)
	}
	ing.m.pointsDropped.Inc()
	ing.log.Warn("store rejected a point as invalid; moved to the dead-letter file", "lift", r.Lift, "kind", r.Kind.String(),
		"seq", r.Seq, "file", ing.rejects.Path(), "err", rej.Msg)
	return nil
}

// storeFailed records a failed write that leaves the data in the spool: it
// shows in SinkError (readyz) and the store_ok gauge at once, and in the log
// at the first failure and then once per StoreLogEvery, not per retry.
func (ing *Ingester) storeFailed(err error, points int) {
	d := &ing.drainer
	ing.sinkErr.Store(&err)
	ing.m.storeOK.Set(0)
	now := ing.now()
	if d.backoff <= 0 {
		d.backoff = 100 * time.Millisecond
	}
	d.failures++
	d.total++
	if !d.failing {
		d.failing, d.since, d.lastLog, d.failures = true, now, now, 0
		ing.log.Warn("store write failed; the data stays in the spool and is retried", "points", points, "err", err)
		return
	}
	if now.Sub(d.lastLog) >= ing.cfg.StoreLogEvery {
		recs, _ := ing.spool.Depth()
		ing.log.Warn("store still failing; the data stays in the spool and is retried", "since", d.since, "retries", d.failures,
			"spooled", recs, "backoff", d.backoff, "err", err)
		d.lastLog, d.failures = now, 0
	}
}

func (ing *Ingester) storeRecovered() {
	d := &ing.drainer
	ing.sinkErr.Store(nil)
	ing.m.storeOK.Set(1)
	d.backoff = 100 * time.Millisecond
	if d.failing {
		ing.log.Info("store writes succeed again", "failing_for", ing.now().Sub(d.since), "retries", d.total)
		d.failing, d.total, d.failures = false, 0, 0
	}
}

// StoreRejects is the dead-letter file of points the store rejected.
func (ing *Ingester) StoreRejects() *StoreRejects { return ing.rejects }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// countGaps records sequence numbers found lost in a lift, or filled late.
func (ing *Ingester) countGaps(lift string, c seqCount, now time.Time) {
	if c.lost > 0 {
		ing.m.gaps.Add(float64(c.lost))
		ing.state.AddGaps(lift, c.lost)
		ing.gaps.add(lift, c.lost, now)
	}
	if c.filled > 0 {
		ing.m.gapsFilled.Add(float64(c.filled))
		ing.state.AddGaps(lift, -c.filled)
	}
}

// settleGaps counts the holes in every lift's sequence that have waited
// longer than GapGrace, and warns (at most once a minute) of new gaps.
func (ing *Ingester) settleGaps(now time.Time) {
	for shard := range ing.seqs {
		ing.seqMu[shard].Lock()
		for lift, sq := range ing.seqs[shard] {
			if n := sq.settle(now); n > 0 {
				ing.countGaps(lift, seqCount{lost: n}, now)
			}
		}
		ing.seqMu[shard].Unlock()
	}
	ing.gaps.warn(ing.log, now)
}

// RecentGaps is how many sequence numbers were counted lost within GapRecent
// before now, and in how many lifts: messages that never reached liftwatch.
func (ing *Ingester) RecentGaps() (missing int64, lifts int) {
	return ing.gaps.recent(ing.now())
}

// sweep marks silent lifts offline and settles sequence gaps every second.
func (ing *Ingester) sweep(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ing.settleGaps(ing.now())
			for _, ch := range ing.state.Sweep(ing.now()) {
				ing.m.stateChanges.WithLabelValues("offline").Inc()
				for _, f := range ing.onChange {
					f(ch)
				}
			}
		}
	}
}

// SinkError is the last store write error, nil once a write succeeds.
func (ing *Ingester) SinkError() error {
	if p := ing.sinkErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Run processes offered messages until ctx ends, then stops in order: no
// new messages, everything received is spooled (acks are sent if the
// receiver is still connected), consumers finish, and the spool is flushed to
// the sink for at most FlushTimeout; what is left stays in the spool.
func (ing *Ingester) Run(ctx context.Context) error {
	var workers, dispatchers sync.WaitGroup
	for i := range ing.shards {
		workers.Add(1)
		go func() { defer workers.Done(); ing.work(i) }()
		dispatchers.Add(1)
		go func() { defer dispatchers.Done(); ing.dispatchLoop(i) }()
	}
	// Channels between the spool writer, the syncer and the acker carry
	// batches of at least one unacked message each, so MaxUnacked bounds
	// them and no send blocks.
	toSync := make(chan *batch, ing.cfg.MaxUnacked)
	toAck := make(chan *batch, ing.cfg.MaxUnacked)
	fatal := make(chan error, 1)
	spoolCtx, cancelSpool := context.WithCancel(context.Background())
	defer cancelSpool()
	written := make(chan struct{})
	go func() { ing.spoolWriter(toSync); close(written) }()
	synced := make(chan struct{})
	go func() { ing.syncer(spoolCtx, toSync, toAck, fatal); close(synced) }()
	acked := make(chan struct{})
	go func() { ing.acker(spoolCtx, toAck); close(acked) }()
	drainCtx, cancelDrain := context.WithCancel(context.Background())
	drained := make(chan struct{})
	go func() { ing.drain(drainCtx, false); close(drained) }()
	sweepCtx, cancelSweep := context.WithCancel(ctx)
	defer cancelSweep()
	go ing.sweep(sweepCtx)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-fatal:
	}
	// Stop intake.
	close(ing.stop)
	ing.closeMu.Lock()
	ing.closed = true
	for _, ch := range ing.shards {
		close(ch)
	}
	ing.closeMu.Unlock()
	workers.Wait()
	close(ing.toSpool)
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), ing.cfg.FlushTimeout)
	defer cancelFlush()
	go func() { <-flushCtx.Done(); cancelSpool() }()
	<-written
	close(toSync)
	for _, ch := range ing.dispatch {
		close(ch)
	}
	<-synced
	close(toAck)
	dispatchers.Wait()
	<-acked
	select {
	case err := <-fatal:
		if runErr == nil {
			runErr = err
		}
	default:
	}
	// Flush what the store will take in the time left.
	cancelDrain()
	<-drained
	ing.drain(flushCtx, true)
	recs, _ := ing.spool.Depth()
	ing.log.Info("ingest stopped", "left_in_spool", recs)
	if err := ing.spool.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if err := ing.dead.Close(); err != nil {
		ing.log.Error("dead letters: close", "err", err)
	}
	return runErr
}
