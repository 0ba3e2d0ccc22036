package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. DefaultParams is RFC 9106's second
// recommended option (section 4, for memory-constrained environments):
// t=3 passes, m=64 MiB, p=4 lanes, 16-byte salt, 32-byte tag. A hash records
// its own parameters, so raising them later leaves existing hashes
// verifiable (NeedsRehash says which to upgrade at the next login).
type Params struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the parameters of new hashes.
var DefaultParams = Params{Time: 3, Memory: 64 * 1024, Threads: 4, SaltLen: 16, KeyLen: 32}

// Bounds on a stored hash's parameters: a hash from the database is trusted
// no further than this, so a tampered row cannot make a login cost a gigabyte.
const (
	maxMemory = 1 << 20 // 1 GiB in KiB
	maxTime   = 16
)

// Password policy: long enough to resist guessing at the rate limits, short
// enough that hashing it is not a denial of service.
const (
	MinPasswordLen = 10  // characters
	MaxPasswordLen = 256 // bytes
)

// ErrMismatch is a password that does not match its hash.
var ErrMismatch = errors.New("password does not match")

// CheckPasswordPolicy says why a new password is not acceptable.
func CheckPasswordPolicy(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return &FieldError{"password", "must be valid UTF-8"}
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return &FieldError{"password", fmt.Sprintf("must have at least %d characters", MinPasswordLen)}
	case len(pw) > MaxPasswordLen:
		return &FieldError{"password", fmt.Sprintf("must have at most %d bytes", MaxPasswordLen)}
	}
	return nil
}

var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id and a fresh random salt, encoded as a
// PHC string: $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash> (base64, no padding).
func HashPassword(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// decodeHash parses a PHC argon2id string.
func decodeHash(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, errors.New("not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, fmt.Errorf("argon2 version %q: want v=%d", parts[2], argon2.Version)
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, fmt.Errorf("argon2 parameters %q: %w", parts[3], err)
	}
	if p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 {
		return Params{}, nil, nil, fmt.Errorf("argon2 parameters %q out of bounds", parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, errors.New("argon2 salt: bad encoding or shorter than 8 bytes")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, errors.New("argon2 hash: bad encoding or length")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword checks pw against an encoded hash in constant time. It
// returns ErrMismatch for a wrong password and another error for a hash it
// cannot read.
func VerifyPassword(pw, encoded string) error {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return err
	}
	if len(pw) > MaxPasswordLen {
		return ErrMismatch
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

// NeedsRehash says whether encoded was made with parameters other than p.
func NeedsRehash(encoded string, p Params) bool {
	got, _, _, err := decodeHash(encoded)
	return err != nil || got != p
}
