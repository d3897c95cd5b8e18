// Package bytesize parses the sizes the flags take ("2M", "512K", "25MiB")
// with the rules of Echo's BodyLimit middleware, which enforces the same
// strings: K, M, G, T, P and E (with or without B) are powers of 1000, KiB
// to EiB (or Ki to Ei) powers of 1024, B or no unit bytes; letter case is
// ignored, a fraction and one space before the unit are allowed.
package bytesize

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

var pattern = regexp.MustCompile(`(?i)^(\d+(?:\.\d+)?) ?(?:([KMGTPE])(i?)B?|B?)$`)

// Parse returns the number of bytes s names. It returns an error for
// anything else: a negative or empty size, an unknown unit, or a size
// beyond what an int64 holds.
func Parse(s string) (int64, error) {
	m := pattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit, such as 2M, 512K or 25MiB", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	if m[2] != "" {
		base := 1000.0
		if m[3] != "" {
			base = 1024
		}
		n *= math.Pow(base, float64(strings.Index("KMGTPE", strings.ToUpper(m[2]))+1))
	}
	if n >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return int64(n), nil
}
