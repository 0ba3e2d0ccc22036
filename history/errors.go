package history

import (
	"fmt"
	"net/http"
)

// The errors a Writer returns say whose fault a failed write is. Only a
// RejectedError is the data's fault; everything else leaves the data in the
// spool to be written again. The drainer (ingest) classifies by them:
// bisecting a rejected batch down to its invalid points, splitting a batch
// too large for the store, retrying everything else.

// RejectedError: the store refused points of the batch as invalid (a field
// type conflict, a line it cannot parse). The drainer splits the batch to find
// exactly those points and moves them to the dead-letter file.
type RejectedError struct {
	Status int
	Msg    string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("store rejected points as invalid (HTTP %d): %s", e.Status, e.Msg)
}

// StoreError: the store refused the write because of its own state or
// configuration, not the data: a missing database or bucket, credentials,
// permissions, a request body limit. The data stays in the spool and the
// write is retried.
type StoreError struct {
	Status int
	Reason string // a metric label: unauthorized, forbidden, not_found, too_large, client_error, target
	Err    error
}

func (e *StoreError) Error() string { return e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// TooLarge says the batch was bigger than the store takes in one request.
func (e *StoreError) TooLarge() bool { return e.Status == http.StatusRequestEntityTooLarge }

// TargetError: the configured database or bucket does not exist (and could
// not be created) or cannot be written with the configured credentials. Its
// message names the setting to fix.
type TargetError struct{ Msg string }

func (e *TargetError) Error() string { return e.Msg }
