package paging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/telemetry"
)

// apply acts on one alert change (under mu).
func (p *Pager) apply(ctx context.Context, ch alerts.Change) {
	a := ch.Alert
	c := p.chains[a.ID]
	switch {
	case ch.Event.Action == "resolved" || a.State == alerts.StateResolved:
		if c != nil {
			p.finish(ctx, c, nil, "the alert was resolved")
		}
		// Its links stop working, whoever holds them.
		if err := p.o.Store.ExpireTokens(ctx, a.ID, p.now()); err != nil {
			p.log.Error("expire page links", "alert", a.ID, "err", err)
		}
	case a.State != alerts.StateOpen:
		if c != nil {
			p.finish(ctx, c, a, "acknowledged by "+a.AckBy)
		}
	case ch.Event.Action == "opened" || ch.Event.Action == "unsilenced":
		if c == nil && a.Suppressed == "" && p.cfg.Pages(a.Type, a.Severity) {
			p.start(ctx, a)
		}
	case ch.Event.Action == "escalated":
		if c != nil {
			p.escalate(ctx, c, a.Tier)
		} else if a.Suppressed == "" && p.cfg.Pages(a.Type, a.Severity) {
			p.start(ctx, a) // opened before paging was on: page from here
		}
	}
}

// start pages the first person of tier 1's chain (or of the alert's tier).
func (p *Pager) start(ctx context.Context, a *alerts.Alert) {
	now := p.now()
	c := &Chain{AlertID: a.ID, Lift: a.Lift, Estate: a.Estate, Type: a.Type, Tier: a.Tier, UpdatedAt: now}
	if l, ok := p.o.Lifts.Get(a.Lift); ok {
		c.Contractor = l.Contractor
		if c.Estate == "" {
			c.Estate = l.Estate
		}
	}
	for t := 1; t <= max(a.Tier, 1); t++ {
		p.add(c, t)
	}
	p.chains[a.ID] = c
	if len(c.People) == 0 {
		p.save(ctx, c)
		p.failed(ctx, c, fmt.Sprintf("nobody is on duty for estate %s, contractor %s (tier %d's chain is empty)", c.Estate, c.Contractor, c.Tier))
		return
	}
	p.startPerson(ctx, c, 0)
	c.NextAt = now.Add(p.cfg.AckTimeout)
	p.save(ctx, c)
}

// add appends the people of tier's chain not in c yet; it returns their
// indexes.
func (p *Pager) add(c *Chain, tier int) []int {
	var added []int
	if p.o.Roster == nil {
		return nil
	}
	for _, person := range p.o.Roster.Chain(c.Estate, c.Contractor, tier, p.now()) {
		known := false
		for _, t := range c.People {
			known = known || t.Person.ID == person.ID
		}
		if !known {
			c.People = append(c.People, Target{Person: person, Tier: tier})
			added = append(added, len(c.People)-1)
		}
	}
	return added
}

// escalate pages at once the people the new tier adds.
func (p *Pager) escalate(ctx context.Context, c *Chain, tier int) {
	if c.Done || tier <= c.Tier {
		return
	}
	var added []int
	for t := c.Tier + 1; t <= tier; t++ {
		added = append(added, p.add(c, t)...)
	}
	c.Tier = tier
	for _, i := range added {
		if !c.Done {
			p.startPerson(ctx, c, i)
		}
	}
	if len(added) == 0 && !c.Done && !p.anyLeft(c) && !p.anyReached(c) {
		p.failed(ctx, c, fmt.Sprintf("tier %d adds nobody on duty, and nobody of the chain was reached", tier))
	}
	p.save(ctx, c)
}

// tick pages the next person of each chain whose clock has run out.
func (p *Pager) tick(ctx context.Context) {
	now := p.now()
	for _, c := range p.chains {
		if c.Done || c.NextAt.IsZero() || now.Before(c.NextAt) {
			continue
		}
		i := p.nextUnstarted(c)
		if i < 0 {
			c.NextAt = time.Time{}
			p.save(ctx, c)
			continue
		}
		p.o.Engine.Record(c.AlertID, "page_next", fmt.Sprintf("not acknowledged within %v: paging %s", p.cfg.AckTimeout,
			who(c.People[i].Person.Name, c.People[i].Person.Role)))
		p.startPerson(ctx, c, i)
		c.NextAt = now.Add(p.cfg.AckTimeout)
		p.save(ctx, c)
	}
}

func (p *Pager) nextUnstarted(c *Chain) int {
	for i, t := range c.People {
		if !t.Started {
			return i
		}
	}
	return -1
}

// anyLeft says whether someone of the chain is still being paged or not
// yet paged.
func (p *Pager) anyLeft(c *Chain) bool {
	for _, t := range c.People {
		if !t.Started || !t.Exhausted && !t.Reached {
			return true
		}
	}
	return false
}

func (p *Pager) anyReached(c *Chain) bool {
	for _, t := range c.People {
		if t.Reached {
			return true
		}
	}
	return false
}

// startPerson makes the first page of person i.
func (p *Pager) startPerson(ctx context.Context, c *Chain, i int) {
	c.People[i].Started = true
	p.contact(ctx, c, i, 0)
}

// contact makes the page of person i's contact k, or, past their last
// contact, gives up on the person.
func (p *Pager) contact(ctx context.Context, c *Chain, i, k int) {
	t := &c.People[i]
	if k >= len(t.Person.Contacts) {
		p.exhausted(ctx, c, i)
		return
	}
	err := p.newPage(ctx, c, i, k)
	if errors.Is(err, errAlertGone) {
		p.finish(ctx, c, nil, "the alert was resolved")
		return
	}
	if err != nil {
		p.log.Error("page not written: trying the next contact", "alert", c.AlertID, "person", t.Person.ID, "err", err)
		p.o.Engine.Record(c.AlertID, "page_failed", fmt.Sprintf("page to %s by %s NOT written to the outbox: %v",
			who(t.Person.Name, t.Person.Role), t.Person.Contacts[k].Channel, err))
		p.contact(ctx, c, i, k+1)
	}
}

// exhausted: every contact of person i failed; the next person is paged at
// once, and when nobody is left and nobody was reached, paging failed.
func (p *Pager) exhausted(ctx context.Context, c *Chain, i int) {
	t := &c.People[i]
	t.Exhausted = true
	p.log.Warn("person not reached on any contact", "alert", c.AlertID, "person", t.Person.ID)
	if c.Done {
		p.save(ctx, c)
		return
	}
	if j := p.nextUnstarted(c); j >= 0 {
		p.o.Engine.Record(c.AlertID, "page_next", fmt.Sprintf("%s not reached on any contact: paging %s now",
			who(t.Person.Name, t.Person.Role), who(c.People[j].Person.Name, c.People[j].Person.Role)))
		p.startPerson(ctx, c, j)
		c.NextAt = p.now().Add(p.cfg.AckTimeout)
	} else if !p.anyLeft(c) && !p.anyReached(c) {
		var names []string
		for _, t := range c.People {
			names = append(names, who(t.Person.Name, t.Person.Role))
		}
		p.failed(ctx, c, "every person of the chain failed on every contact: "+strings.Join(names, ", "))
	}
	p.save(ctx, c)
}

// failed raises paging_failed on the lift: a page of this alert reached
// nobody.
func (p *Pager) failed(ctx context.Context, c *Chain, why string) {
	if c.Failed {
		return
	}
	c.Failed = true
	p.save(ctx, c)
	p.log.Error("paging reached nobody", "alert", c.AlertID, "lift", c.Lift, "why", why)
	p.o.Engine.Record(c.AlertID, "page_failed", "paging reached nobody: "+why)
	summary := fmt.Sprintf("pages of alert %d (%s) reached nobody: %s", c.AlertID, c.Type, why)
	if _, err := p.o.Engine.Raise(c.Lift, TypePagingFailed, telemetry.SeverityCritical, summary); err != nil {
		p.log.Error("raise paging_failed", "alert", c.AlertID, "err", err)
	}
}

// finish ends a chain: no more pages; pages not sent yet expire. a, if
// given, is the acknowledged alert: the page of the person who
// acknowledged it is marked so.
func (p *Pager) finish(ctx context.Context, c *Chain, a *alerts.Alert, why string) {
	if c.Done {
		return
	}
	now := p.now()
	c.Done = true
	c.NextAt = time.Time{}
	for id, r := range p.rows {
		if r.AlertID != c.AlertID || r.State != Pending || p.inflight[id] {
			continue
		}
		r.State, r.LastError, r.UpdatedAt = Expired, "not sent: "+why, now
		p.write(ctx, r)
		p.sent.WithLabelValues(r.Channel, "expired").Inc()
		delete(p.rows, id)
		delete(p.tokens, id)
	}
	if a != nil && a.AckBy != "" {
		p.markAcked(ctx, c.AlertID, a.AckBy, now)
	}
	p.save(ctx, c)
	delete(p.chains, c.AlertID)
}

// markAcked marks the delivered pages of the person who acknowledged
// (their account or name is by) as acknowledged.
func (p *Pager) markAcked(ctx context.Context, alertID int64, by string, now time.Time) {
	list, err := p.o.Store.AlertPages(ctx, alertID)
	if err != nil {
		p.log.Error("pages of alert", "alert", alertID, "err", err)
		return
	}
	for i := range list {
		r := &list[i]
		if r.State != Delivered || (r.User != by && r.PersonName != by) {
			continue
		}
		r.State, r.AckAt, r.AckBy, r.UpdatedAt = Acknowledged, &now, by, now
		p.write(ctx, r)
	}
}

func (p *Pager) save(ctx context.Context, c *Chain) {
	c.UpdatedAt = p.now()
	if err := p.o.Store.SaveChain(ctx, c); err != nil {
		p.log.Error("paging chain not saved: a restart would not continue it", "alert", c.AlertID, "err", err)
	}
}

func (p *Pager) write(ctx context.Context, r *Page) {
	if err := p.o.Store.UpdatePage(ctx, r); err != nil {
		p.log.Error("page not updated in the outbox", "page", r.ID, "alert", r.AlertID, "err", err)
	}
}
