//go:build bench

package bench

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// TestStream_Read checks the benchmark's own stream reader: whatever the
// reads cut, it counts every event and finds the newest message.
func TestStream_Read(t *testing.T) {
	var body strings.Builder
	for seq := 1; seq <= 300; seq++ {
		if seq%7 == 0 {
			body.WriteString(": keep-alive\n\n")
		}
		// Messages are numbered in the order they were written, not
		// committed: the newest (1300) is not in the last event.
		msg := 1000 + seq - 1
		if seq%2 == 1 {
			msg = 1000 + seq + 1
		}
		fmt.Fprintf(&body, "id: %d\nevent: message.created\ndata: {\"seq\":%d,\"type\":\"message.created\",\"message_id\":%d}\n\n", seq, seq, msg)
		fmt.Fprintf(&body, "id: %d\nevent: case.updated\ndata: {\"seq\":%d,\"type\":\"case.updated\",\"case_id\":5}\n\n", seq, seq)
	}
	for _, tc := range []struct {
		name string
		r    func(string) io.Reader
	}{
		{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
		{"a byte at a time", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		{"97 bytes at a time", func(s string) io.Reader { return &pieces{s: s, n: 97} }},
	} {
		for _, probe := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, probe %v", tc.name, probe), func(t *testing.T) {
				s := &stream{probe: probe, first: map[int64]time.Time{}}
				s.read(tc.r(body.String()))
				if got := s.events.Load(); got != 600 {
					t.Errorf("events %d, want 600", got)
				}
				if got := s.last.Load(); got != 1300 {
					t.Errorf("last message %d, want 1300", got)
				}
			})
		}
	}
}

// pieces reads s n bytes at a time.
type pieces struct {
	s string
	n int
}

func (p *pieces) Read(b []byte) (int, error) {
	if p.s == "" {
		return 0, io.EOF
	}
	k := copy(b[:min(len(b), p.n)], p.s)
	p.s = p.s[k:]
	return k, nil
}
