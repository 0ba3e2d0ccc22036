package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/simulator/contractor"
	"github.com/liftwatch/liftwatch/simulator/demohistory"
	"github.com/liftwatch/liftwatch/store"
)

// demoCompanies are the contractor companies of the simulated lifts, sorted.
func demoCompanies(lifts []registry.Lift) []string {
	var out []string
	for _, l := range lifts {
		if l.Contractor != "" && !slices.Contains(out, l.Contractor) {
			out = append(out, l.Contractor)
		}
	}
	slices.Sort(out)
	return out
}

// contractorAccount is the account a simulated company's system signs in
// with: demo-contractor for the company of the demo's lift (the account the
// demo prints), sim-contractor-<n> for the others (made here, with a
// password nobody is told: they only ever use a token).
func contractorAccount(companies []string, company, demoCompany string) string {
	if company == demoCompany {
		return "demo-" + string(identity.RoleContractor)
	}
	return fmt.Sprintf("sim-contractor-%d", slices.Index(companies, company)+1)
}

// contractorTokens issues, in process, one API token per company for its
// account (creating the sim-contractor accounts on first start). The
// tokens are handed to the simulated contractors and never printed.
func contractorTokens(ctx context.Context, a *app.App, companies []string, demoCompany string) (map[string]string, error) {
	ids := a.Store().Identity()
	out := map[string]string{}
	for _, co := range companies {
		name := contractorAccount(companies, co, demoCompany)
		u, err := ids.UserByName(ctx, name)
		if errors.Is(err, identity.ErrNotFound) {
			pw, perr := randomPassword()
			if perr != nil {
				return nil, perr
			}
			u, err = a.Identity().CreateUser(ctx, identity.System("demo"), identity.NewUser{Name: name, Role: identity.RoleContractor,
				Scope: identity.Scope{Company: co}, Password: pw}, "")
		}
		if err != nil {
			return nil, fmt.Errorf("account %s of %s: %w", name, co, err)
		}
		if u.Role != identity.RoleContractor || u.Scope.Company != co {
			return nil, fmt.Errorf("account %s exists as %s of %q, not as the contractor %s: use a fresh --data.dir", name, u.Role, u.Scope.Company, co)
		}
		raw, _, err := a.Identity().IssueToken(ctx, identity.System("demo"), u.ID, "demo: simulated contractor system", 0, "")
		if err != nil {
			return nil, fmt.Errorf("API token of %s: %w", name, err)
		}
		out[co] = raw
	}
	return out, nil
}

// randomPassword is a password for an account that signs in with tokens
// only.
func randomPassword() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// runContractors runs one simulated contractor per company against the
// demo's own HTTP API with its token, taking each order as soon as its
// window is open and holding the lift in inspection mode through the
// running simulator; it returns when ctx ends.
func runContractors(ctx context.Context, base string, tokens map[string]string, companies []string, ins contractor.Inspector,
	seed uint64, paper float64, log *slog.Logger) error {
	hc := &http.Client{Timeout: 30 * time.Second}
	var cs []*contractor.Contractor
	for i, co := range companies {
		c, err := contractor.New(contractor.Config{Company: co, Seed: seed + 1_000_003*uint64(i+1), PaperShare: paper, Prompt: true,
			Poll: 20 * time.Second, Log: log}, &contractor.Client{Base: base, Token: tokens[co], HTTP: hc}, ins)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	done := make(chan struct{}, len(cs))
	for _, c := range cs {
		go func() {
			defer func() { done <- struct{}{} }()
			c.Run(ctx)
		}()
	}
	for range cs {
		<-done
	}
	return nil
}

// contractorsNote says what the contractors do, once the simulation is live.
func contractorsNote(stdout io.Writer, httpAddr string, companies []string, demoCompany string) {
	var names []string
	for _, co := range companies {
		names = append(names, contractorAccount(companies, co, demoCompany))
	}
	fmt.Fprintf(stdout, "Contractors: %d simulated contractor companies now work their due orders through the API with API tokens (accounts %s): start, inspection mode, checklist, complete; see http://%s/api/v1/work-orders?state=in_progress\n",
		len(companies), strings.Join(names, ", "), httpAddr)
}

// liveInspector is the running simulator as the contractors' Inspector.
type liveInspector struct{ sim *simulator.Simulator }

func (l liveInspector) Inspect(ctx context.Context, lift string, d time.Duration) (time.Time, error) {
	return l.sim.Inspect(ctx, lift, d)
}

// historySessions is the inspection-sessions table as the demo's history
// keeps its sessions.
type historySessions struct{ r *store.Inspections }

func (s historySessions) SaveSessions(ctx context.Context, ss []demohistory.LiftSession) error {
	out := make([]store.InspectionSession, len(ss))
	for i, x := range ss {
		out[i] = store.InspectionSession{Lift: x.Lift, Start: x.Start, End: x.End, Ended: true}
	}
	return s.r.Save(ctx, out)
}

func (s historySessions) LiftSessions(ctx context.Context, lift string, from, to time.Time) ([]demohistory.LiftSession, error) {
	ss, err := s.r.Sessions(ctx, lift, from, to)
	out := make([]demohistory.LiftSession, len(ss))
	for i, x := range ss {
		out[i] = demohistory.LiftSession{Lift: x.Lift, Start: x.Start, End: x.End}
	}
	return out, err
}
