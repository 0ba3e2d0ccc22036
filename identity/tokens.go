package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TokenPrefix starts every API token, so a leaked one is recognisable
// (secret scanners, logs) as a liftwatch token.
const TokenPrefix = "lwt_"

// Token lifetimes (docs/identity.md): a token expires DefaultTokenTTL
// after its issue unless asked otherwise, at most MaxTokenTTL; NeverExpires
// must be asked for explicitly, only an admin may ask for it, and never for
// an admin account (the most powerful credential always expires).
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 366 * 24 * time.Hour
	// NeverExpires as IssueToken's ttl: valid until revoked.
	NeverExpires time.Duration = -1
)

// selfOrAdmin returns nil if by acts on their own account userID, else a
// ForbiddenError unless by is an admin.
func selfOrAdmin(by Actor, userID int64) error {
	if by.UserID == userID && by.UserID != 0 {
		return nil
	}
	return require(by, Admin, Object{})
}

// IssueToken makes an API token for user userID (an admin for anyone, a
// user for themselves), valid for ttl: 0 is DefaultTokenTTL, NeverExpires
// until revoked (admins only, not for an admin account), anything else at
// most MaxTokenTTL. The raw token is returned once; only its hash is
// stored.
func (s *Service) IssueToken(ctx context.Context, by Actor, userID int64, name string, ttl time.Duration, remote string) (string, *Token, error) {
	if err := selfOrAdmin(by, userID); err != nil {
		return "", nil, err
	}
	if strings.TrimSpace(name) == "" || len(name) > 128 {
		return "", nil, &FieldError{"name", "a token needs a name of 1-128 bytes saying what it is for"}
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return "", nil, &FieldError{"user", fmt.Sprintf("no enabled user %d", userID)}
	}
	switch {
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl == NeverExpires:
		if by.Role != RoleAdmin {
			return "", nil, &FieldError{"ttl", "only an admin may issue a token that never expires"}
		}
		if u.Role == RoleAdmin {
			return "", nil, &FieldError{"ttl", "an admin account's tokens must expire (at most " + fmtDays(MaxTokenTTL) + ")"}
		}
	case ttl < 0:
		return "", nil, &FieldError{"ttl", fmt.Sprintf("%v is negative", ttl)}
	case ttl > MaxTokenTTL:
		return "", nil, &FieldError{"ttl", fmt.Sprintf("%v is longer than %s; say \"never\" for a token valid until revoked", ttl, fmtDays(MaxTokenTTL))}
	}
	secret, err := randomString()
	if err != nil {
		return "", nil, err
	}
	raw := TokenPrefix + secret
	now := s.cfg.Now()
	t := &Token{UserID: userID, Name: name, Prefix: raw[:len(TokenPrefix)+8], Hash: hashHex(raw), CreatedAt: now}
	expiry := "never"
	if ttl != NeverExpires {
		exp := now.Add(ttl)
		t.ExpiresAt = &exp
		expiry = exp.UTC().Format(time.RFC3339)
	}
	if err := s.repo.CreateToken(ctx, t); err != nil {
		return "", nil, fmt.Errorf("issue token: %w", err)
	}
	if err := s.audit(ctx, by, "token.create", fmt.Sprintf("token %d", t.ID), remote, OutcomeOK,
		fmt.Sprintf("user=%d prefix=%s name=%q expires=%s", userID, t.Prefix, name, expiry)); err != nil {
		return "", nil, err
	}
	return raw, t, nil
}

func fmtDays(d time.Duration) string { return fmt.Sprintf("%d days", int(d/(24*time.Hour))) }

// Tokens lists the API tokens of user userID, revoked and expired ones
// too, with their last use (an admin for anyone, a user their own). An
// unknown user is ErrNotFound.
func (s *Service) Tokens(ctx context.Context, by Actor, userID int64) ([]Token, error) {
	if err := selfOrAdmin(by, userID); err != nil {
		return nil, err
	}
	if _, err := s.repo.UserByID(ctx, userID); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	list, err := s.repo.UserTokens(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("tokens of user %d: %w", userID, err)
	}
	return list, nil
}

// RevokeToken revokes token id of user userID (an admin for anyone, a user
// their own); streams it opened end at once.
func (s *Service) RevokeToken(ctx context.Context, by Actor, userID, id int64, remote string) error {
	if err := selfOrAdmin(by, userID); err != nil {
		return err
	}
	list, err := s.repo.UserTokens(ctx, userID)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	i := slices.IndexFunc(list, func(t Token) bool { return t.ID == id })
	if i < 0 {
		return fmt.Errorf("token %d of user %d: %w", id, userID, ErrNotFound)
	}
	if err := s.repo.RevokeToken(ctx, id, s.cfg.Now()); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	s.ends.publish(userID, list[i].Hash, "")
	return s.audit(ctx, by, "token.revoke", fmt.Sprintf("token %d", id), remote, OutcomeOK,
		fmt.Sprintf("user=%d prefix=%s", userID, list[i].Prefix))
}

// TokenActor returns the actor of a raw API token, or ErrUnauthenticated if
// it is malformed, unknown, revoked, expired or its user disabled.
func (s *Service) TokenActor(ctx context.Context, raw string) (Actor, error) {
	secret, ok := strings.CutPrefix(raw, TokenPrefix)
	if !ok || !wellFormed(secret) {
		return Actor{}, ErrUnauthenticated
	}
	t, u, err := s.tokenByHash(ctx, hashHex(raw))
	if err != nil {
		return Actor{}, err
	}
	now := s.cfg.Now()
	if t.LastUsed == nil || now.Sub(*t.LastUsed) >= touchEvery {
		if err := s.repo.TouchToken(ctx, t.ID, now); err != nil {
			return Actor{}, fmt.Errorf("token: %w", err)
		}
	}
	a := u.Actor(ViaToken)
	a.Cred = t.Hash
	return a, nil
}

// tokenByHash is the live token with that hash and its enabled user, or
// ErrUnauthenticated.
func (s *Service) tokenByHash(ctx context.Context, h string) (*Token, *User, error) {
	t, err := s.repo.TokenByHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, nil, fmt.Errorf("token: %w", err)
	}
	now := s.cfg.Now()
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return nil, nil, ErrUnauthenticated
	}
	u, err := s.user(ctx, t.UserID)
	if err != nil {
		return nil, nil, err
	}
	return t, u, nil
}
