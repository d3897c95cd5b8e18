// Package auth checks who is calling: HTTP Basic credentials of agents and
// bearer API keys with their scopes, and carries the caller in the request
// context.
package auth

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is the bcrypt cost of stored passwords: about a quarter of a
// second per check on a 2-core machine, which is why Basic checks are cached.
const DefaultCost = 12

// Password length limits. bcrypt reads only the first 72 bytes, so a longer
// password is refused rather than silently cut.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
)

// ErrWeakPassword is returned by Hash for a password outside the length limits.
var ErrWeakPassword = fmt.Errorf("password must be %d to %d bytes long", MinPasswordLen, MaxPasswordLen)

// Hasher hashes and checks passwords with bcrypt at a fixed cost.
type Hasher struct {
	// Cost is the bcrypt cost; 0 means DefaultCost. Tests use bcrypt.MinCost.
	Cost int
	// Compared, when set, is called after each bcrypt compare with whether
	// the password matched (for the metrics); it is called from several
	// goroutines at once.
	Compared func(matched bool)
}

// Hash returns the bcrypt hash of the password, or ErrWeakPassword when the
// password is too short or too long.
func (h Hasher) Hash(password string) (string, error) {
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return "", ErrWeakPassword
	}
	cost := h.Cost
	if cost == 0 {
		cost = DefaultCost
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(b), nil
}

// Verify reports whether the password matches the hash. It runs in time that
// does not depend on where the two differ. A password longer than
// MaxPasswordLen never matches: bcrypt would compare only its first 72 bytes.
func (h Hasher) Verify(hash, password string) bool {
	if len(password) > MaxPasswordLen {
		return false
	}
	ok := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	if h.Compared != nil {
		h.Compared(ok)
	}
	return ok
}
