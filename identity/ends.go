package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultRecheck is how often an open stream re-reads its credential and
// account (Config.Recheck): inside the 5 s within which a stream must end
// after a revocation made elsewhere (issue 18, finding 5).
const DefaultRecheck = 3 * time.Second

// ends tells open streams that their credential has ended: logout, a
// revoked token, a password change, a disabled account, a new role or
// scope. In-process and immediate; Watch's recheck covers the rest.
type ends struct {
	mu   sync.Mutex
	subs map[int64]map[*endSub]struct{}
}

type endSub struct {
	cred string
	via  Via
	end  func()
}

func newEnds() *ends { return &ends{subs: map[int64]map[*endSub]struct{}{}} }

func (e *ends) add(userID int64, sub *endSub) func() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subs[userID] == nil {
		e.subs[userID] = map[*endSub]struct{}{}
	}
	e.subs[userID][sub] = struct{}{}
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		delete(e.subs[userID], sub)
		if len(e.subs[userID]) == 0 {
			delete(e.subs, userID)
		}
	}
}

// publish ends the streams of user userID opened with credential cred
// ("": any) authenticated via via ("": any).
func (e *ends) publish(userID int64, cred string, via Via) {
	e.mu.Lock()
	var end []func()
	for sub := range e.subs[userID] {
		if (cred == "" || sub.cred == cred) && (via == "" || sub.via == via) {
			end = append(end, sub.end)
		}
	}
	e.mu.Unlock()
	for _, f := range end {
		f()
	}
}

// Watch returns a context derived from ctx that is cancelled when a's
// credential ends: at once when this Service revokes it (logout, token
// revocation, password change, disabling the account, a new role or
// scope), and within Config.Recheck when the store says so (a revocation
// made by the CLI or another instance, expiry, idle timeout), or when
// the account's role or scope is no longer a's. Streams serve under it.
// stop releases it; call it when the stream ends.
func (s *Service) Watch(ctx context.Context, a Actor) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if a.Via == ViaSystem || a.UserID == 0 {
		return ctx, func() { cancel(context.Canceled) }
	}
	remove := s.ends.add(a.UserID, &endSub{cred: a.Cred, via: a.Via, end: func() { cancel(ErrUnauthenticated) }})
	tick, stopTick := s.cfg.Ticker(s.cfg.Recheck)
	go func() {
		defer stopTick()
		defer remove()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
				if err := s.stillValid(ctx, a); errors.Is(err, ErrUnauthenticated) {
					cancel(err)
					return
				} else if err != nil && ctx.Err() == nil {
					// A failing store is not a revocation: keep serving,
					// try again at the next tick.
					s.log.Warn("recheck stream credential", "user", a.Name, "err", err)
				}
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// stillValid re-reads a's credential and account: ErrUnauthenticated if
// either has ended or the account's role or scope changed.
func (s *Service) stillValid(ctx context.Context, a Actor) error {
	var u *User
	var err error
	switch a.Via {
	case ViaSession:
		var sess *Session
		if sess, u, err = s.sessionByHash(ctx, a.Cred); err == nil && s.cfg.Now().Sub(sess.LastSeen) >= touchEvery {
			// An open stream is use of its session: a wall display on the
			// fleet page is not signed out by the idle timeout (the
			// absolute expiry still holds).
			if err := s.repo.TouchSession(ctx, a.Cred, s.cfg.Now()); err != nil {
				return fmt.Errorf("session: %w", err)
			}
		}
	case ViaToken:
		_, u, err = s.tokenByHash(ctx, a.Cred)
	default:
		return ErrUnauthenticated
	}
	if err != nil {
		return err
	}
	if u.Role != a.Role || !sameScope(u.Scope, a.Scope) {
		return ErrUnauthenticated
	}
	return nil
}

func sameScope(x, y Scope) bool {
	return slices.Equal(x.Estates, y.Estates) && x.Company == y.Company && x.Lift == y.Lift &&
		x.Household == y.Household && x.Subdistrict == y.Subdistrict
}
