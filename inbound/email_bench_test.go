package inbound

import (
	"encoding/base64"
	"io"
	"runtime"
	"strconv"
	"testing"

	"switchboard/models"
)

// bigMessage is a message made while it is read, never held whole: a
// text/plain body of textBytes and an attachment of attachmentBytes,
// base64-encoded.
type bigMessage struct {
	textBytes, attachmentBytes int
	stage                      int
	sent                       int // of the current stage
	pending                    []byte
	line                       [80]byte
	block                      [57]byte
}

// bigMessageSize is the size of the message bigMessage makes: 4 MB of text
// and 15 MB of attachment, 20 MB in base64, 25 MB in all.
const (
	bigText       = 4 << 20
	bigAttachment = 15 << 20
)

func newBigMessage() *bigMessage {
	return &bigMessage{textBytes: bigText, attachmentBytes: bigAttachment}
}

// attachmentByte is byte i of the attachment.
func attachmentByte(i int) byte { return byte(i*7 + i>>9) }

func (m *bigMessage) Read(p []byte) (int, error) {
	for len(m.pending) == 0 {
		if !m.fill() {
			return 0, io.EOF
		}
	}
	n := copy(p, m.pending)
	m.pending = m.pending[n:]
	return n, nil
}

// fill makes the next piece of the message; false at its end.
func (m *bigMessage) fill() bool {
	switch m.stage {
	case 0:
		m.pending = []byte("From: Ann <ann@example.com>\r\nTo: support@acme.test\r\nSubject: big\r\n" +
			"Message-ID: <big-1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BIG\r\n\r\n" +
			"--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
		m.stage++
	case 1:
		if m.sent >= m.textBytes {
			m.pending = []byte("\r\n--BIG\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n" +
				"Content-Transfer-Encoding: base64\r\n\r\n")
			m.stage, m.sent = m.stage+1, 0
			break
		}
		l := strconv.AppendInt(append(m.line[:0], "line "...), int64(m.sent/64), 10)
		l = append(l, " of the long text body, all of it ASCII, in lines of 64 bytes"...)
		l = append(l[:min(len(l), 62)], "\r\n"...)
		l = l[:min(len(l), m.textBytes-m.sent)]
		m.pending = l
		n := len(l)
		m.sent += n
	case 2:
		if m.sent >= m.attachmentBytes {
			m.pending = []byte("\r\n--BIG--\r\n")
			m.stage++
			break
		}
		k := min(len(m.block), m.attachmentBytes-m.sent)
		for i := range k {
			m.block[i] = attachmentByte(m.sent + i)
		}
		m.sent += k
		n := base64.StdEncoding.EncodedLen(k)
		base64.StdEncoding.Encode(m.line[:], m.block[:k])
		m.line[n], m.line[n+1] = '\r', '\n'
		m.pending = m.line[:n+2]
	default:
		return false
	}
	return true
}

func BenchmarkParseEmail_25MB(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(bigText + int64(base64.StdEncoding.EncodedLen(bigAttachment)*78/76))
	for b.Loop() {
		in, err := ParseEmail(newBigMessage())
		if err != nil || len(in.Attachments) != 2 {
			b.Fatalf("ParseEmail: %v, %d attachments", err, len(in.Attachments))
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestParseEmail_BoundedMemory parses a 25 MB message made while it is
// read. What the parse allocates in all must be less than reading the
// message whole would cost before anything is decoded (its size) plus
// decoding what is kept once; what stays in use must be about what is kept.
// Both are counts of bytes allocated and live after a collection, not
// timings: the same on every run.
func TestParseEmail_BoundedMemory(t *testing.T) {
	src := &countingReader{r: newBigMessage()}
	var before, after, live runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	in, err := ParseEmail(src)
	runtime.ReadMemStats(&after)
	runtime.GC()
	runtime.ReadMemStats(&live)
	if err != nil {
		t.Fatal(err)
	}
	kept := int64(len(in.TextBody) + len(in.HTMLBody) + len(in.HTMLOriginal))
	for _, a := range in.Attachments {
		kept += int64(len(a.Content))
	}
	total := int64(after.TotalAlloc - before.TotalAlloc)
	inUse := int64(live.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("message %d bytes, kept %d, allocated %d (%.2fx kept), in use after %d (%.2fx kept)",
		src.n, kept, total, float64(total)/float64(kept), inUse, float64(inUse)/float64(kept))

	if len(in.Attachments) != 2 || in.Attachments[0].Name != "body.txt" || len(in.Attachments[0].Content) != bigText {
		t.Fatalf("attachments = %d; want body.txt of %d bytes and big.bin", len(in.Attachments), bigText)
	}
	if got := in.Attachments[1].Content; len(got) != bigAttachment {
		t.Fatalf("big.bin has %d bytes; want %d", len(got), bigAttachment)
	}
	for i, c := range in.Attachments[1].Content {
		if c != attachmentByte(i) {
			t.Fatalf("big.bin byte %d = %#x; want %#x", i, c, attachmentByte(i))
		}
	}
	if len(in.TextBody) != models.MaxEmailBodyLen {
		t.Errorf("TextBody has %d bytes; want the first %d", len(in.TextBody), models.MaxEmailBodyLen)
	}
	if bound := src.n + kept; total >= bound {
		t.Errorf("allocated %d bytes; want less than the message and what is kept, %d", total, bound)
	}
	if bound := 3 * kept; inUse >= bound {
		t.Errorf("%d bytes in use after the parse; want less than 3x what is kept, %d", inUse, bound)
	}
	runtime.KeepAlive(in)
}
