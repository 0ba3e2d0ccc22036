package ingest

import "context"

// Sink is where the drainer writes spooled records: a history.Store
// (history/influx or history/sqlhistory). A failed write is classified by
// history's error kinds: *history.RejectedError (the data's fault: bisected
// into the dead-letter file), *history.StoreError (the store's: retried; a
// 413 splits the batch) or any other error (retried).
type Sink interface {
	// Write stores records. Writing the same record twice must be harmless.
	Write(ctx context.Context, recs []Record) error
	// Ping says whether the store is reachable.
	Ping(ctx context.Context) error
}
