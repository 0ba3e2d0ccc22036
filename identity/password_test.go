package identity

import (
	"errors"
	"strings"
	"testing"
)

// TestPasswordRoundTrip: the default parameters produce a PHC argon2id
// string that verifies the right password and rejects a wrong one; each
// hash has its own salt; a tampered or unreadable hash never verifies.
func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("hash %q: want the PHC argon2id form with the default parameters", h)
	}
	if err := VerifyPassword("correct horse battery", h); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, wrong := range []string{"correct horse batterY", "", "correct horse battery ", strings.Repeat("x", MaxPasswordLen+1)} {
		if err := VerifyPassword(wrong, h); !errors.Is(err, ErrMismatch) {
			t.Errorf("wrong password %q: %v, want ErrMismatch", wrong, err)
		}
	}
	h2, err := HashPassword("correct horse battery", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	// Flip one character of the hash part: no longer verifies.
	parts := strings.Split(h, "$")
	last := []byte(parts[5])
	last[0] ^= 1
	if last[0] == '+' || last[0] == '/' {
		last[0] = 'A'
	}
	parts[5] = string(last)
	if err := VerifyPassword("correct horse battery", strings.Join(parts, "$")); err == nil {
		t.Fatal("tampered hash verified")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4194304,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 4 GiB: out of bounds
		"$argon2id$v=19$m=65536,t=99,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if err := VerifyPassword("x", bad); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("unreadable hash %q: %v, want a decode error", bad, err)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short":                               false,
		"ninechars":                           false,
		"tenchars!!":                          true,
		"十个汉字的密码也可以用":                         true,
		strings.Repeat("a", MaxPasswordLen):   true,
		strings.Repeat("a", MaxPasswordLen+1): false,
		"bad\xffutf8 string":                  false,
	} {
		err := CheckPasswordPolicy(pw)
		if (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", pw, err, ok)
		}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "password") {
			t.Errorf("%q: %v is not a FieldError on password", pw, err)
		}
	}
}
