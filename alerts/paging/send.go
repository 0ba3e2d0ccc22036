package paging

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// errAlertGone: the alert was resolved (its change not applied yet).
var errAlertGone = errors.New("the alert is resolved")

// newToken is a link's token (128 random bits, base32 without padding,
// lower case: 26 characters) and its stored hash.
func newToken() (raw, hash string, err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("page token: %w", err)
	}
	raw = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
	return toLower(raw), HashToken(toLower(raw)), nil
}

// HashToken is the stored form of a link's token.
func HashToken(raw string) string {
	s := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(s[:])
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func newKey() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("page key: %w", err)
	}
	return "lwp-" + hex.EncodeToString(b[:]), nil
}

// link is the acknowledge link of a token; hidden shows it without the
// token (what the outbox keeps).
func (p *Pager) link(raw string) string { return p.o.PublicURL + "/k/" + raw }

func (p *Pager) hiddenLink() string { return p.o.PublicURL + "/k/…" }

// newPage writes the page of person i's contact k to the outbox, pending:
// the worker sends it.
func (p *Pager) newPage(ctx context.Context, c *Chain, i, k int) error {
	t := c.People[i]
	ct := t.Person.Contacts[k]
	now := p.now()
	raw, hash, err := newToken()
	if err != nil {
		return err
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	a, ok := p.o.Engine.Get(c.AlertID)
	if !ok {
		return errAlertGone
	}
	l, _ := p.o.Lifts.Get(c.Lift)
	r := &Page{AlertID: c.AlertID, Lift: c.Lift, Tier: t.Tier, PersonID: t.Person.ID, PersonName: t.Person.Name, Role: t.Person.Role,
		User: t.Person.User, Lang: lang(t.Person.Lang), Contact: k, Channel: ct.Channel, To: ct.To, Params: params(a, l),
		State: Pending, NextAt: now, Key: key, TokenHash: hash, TokenExpires: now.Add(p.cfg.LinkTTL), CreatedAt: now, UpdatedAt: now}
	r.Subject, r.Text = render(r.Lang, r.Params, p.hiddenLink())
	if err := p.o.Store.InsertPage(ctx, r); err != nil {
		return err
	}
	p.rows[r.ID] = r
	p.tokens[r.ID] = raw
	p.signal()
	return nil
}

// dispatch starts sending every due page (under mu); it reports whether
// it started any.
func (p *Pager) dispatch(ctx context.Context) bool {
	now := p.now()
	started := false
	for id, r := range p.rows {
		if r.State != Pending || r.NextAt.After(now) || p.inflight[id] {
			continue
		}
		if c := p.chains[r.AlertID]; c == nil || c.Done {
			r.State, r.LastError, r.UpdatedAt = Expired, "not sent: the alert was acknowledged or resolved", now
			p.write(ctx, r)
			p.sent.WithLabelValues(r.Channel, "expired").Inc()
			delete(p.rows, id)
			delete(p.tokens, id)
			continue
		}
		raw, ok := p.tokens[id]
		if !ok {
			// Loaded after a restart: the token was never kept. A new
			// one, the same key: the provider knows the page.
			var hash string
			var err error
			if raw, hash, err = newToken(); err != nil {
				p.log.Error("page token", "err", err)
				continue
			}
			r.TokenHash, r.TokenExpires = hash, now.Add(p.cfg.LinkTTL)
			p.tokens[id] = raw
		}
		// Written as sending before the provider has it: a crash from here
		// on sends it again with the same key.
		r.State, r.Attempts, r.UpdatedAt = Sending, r.Attempts+1, now
		r.SentAt = &now
		if err := p.o.Store.UpdatePage(ctx, r); err != nil {
			p.log.Error("page not marked sending: not sent now, tried again", "page", id, "err", err)
			r.State, r.Attempts = Pending, r.Attempts-1
			continue
		}
		m := notify.Message{Key: r.Key, AlertID: r.AlertID, To: r.To, Link: p.link(raw), Params: map[string]string{}}
		for k, v := range r.Params {
			m.Params[k] = v
		}
		m.Params["link"] = m.Link
		m.Params["kind"] = kindText(r.Params["type"], r.Lang)
		m.Subject, m.Text = render(r.Lang, r.Params, m.Link)
		n := p.o.Channels[r.Channel]
		p.inflight[id] = true
		started = true
		p.wg.Add(1)
		go p.send(r, n, m)
	}
	return started
}

// send makes one attempt and records its result.
func (p *Pager) send(r *Page, n notify.Notifier, m notify.Message) {
	defer p.wg.Done()
	p.sem <- struct{}{}
	var err error
	if n == nil {
		err = &notify.Error{Channel: r.Channel, Err: fmt.Errorf("no paging channel %q is configured", r.Channel)}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.AttemptTimeout)
		err = n.Notify(ctx, m)
		cancel()
	}
	<-p.sem
	p.mu.Lock()
	defer p.mu.Unlock()
	p.result(context.Background(), r, err)
	p.signal()
}

// result records an attempt's outcome (under mu): delivered; retried
// with backoff while retryable; else failed, and the person's next
// contact, then the next person.
func (p *Pager) result(ctx context.Context, r *Page, err error) {
	now := p.now()
	delete(p.inflight, r.ID)
	c := p.chains[r.AlertID]
	i := -1
	if c != nil {
		for j := range c.People {
			if c.People[j].Person.ID == r.PersonID {
				i = j
			}
		}
	}
	if err == nil {
		if r.State == Sending {
			r.State = Delivered
		}
		r.DeliveredAt, r.LastError, r.Retryable, r.UpdatedAt = &now, "", false, now
		p.write(ctx, r)
		delete(p.rows, r.ID)
		delete(p.tokens, r.ID)
		p.sent.WithLabelValues(r.Channel, "delivered").Inc()
		p.o.Engine.Record(r.AlertID, "paged", fmt.Sprintf("paged %s by %s: delivered (%s)", who(r.PersonName, r.Role), via(r), attempts(r.Attempts)))
		if i >= 0 {
			c.People[i].Reached = true
			c.Failed = false
			p.save(ctx, c)
		}
		return
	}
	r.LastError, r.Retryable, r.UpdatedAt = err.Error(), notify.Retryable(err), now
	if r.Retryable && r.Attempts < p.cfg.MaxAttempts && c != nil && !c.Done {
		r.State = Pending
		r.NextAt = now.Add(p.cfg.RetryBase << (r.Attempts - 1))
		p.write(ctx, r)
		p.sent.WithLabelValues(r.Channel, "retry").Inc()
		return
	}
	r.State = Failed
	p.write(ctx, r)
	delete(p.rows, r.ID)
	delete(p.tokens, r.ID)
	p.sent.WithLabelValues(r.Channel, "failed").Inc()
	why := "not retryable"
	if r.Retryable {
		why = "retryable, gave up"
	}
	p.o.Engine.Record(r.AlertID, "page_failed", fmt.Sprintf("page to %s by %s failed after %s (%s): %s",
		who(r.PersonName, r.Role), via(r), attempts(r.Attempts), why, r.LastError))
	if c == nil || c.Done || i < 0 {
		return
	}
	p.contact(ctx, c, i, r.Contact+1)
	p.save(ctx, c)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}
