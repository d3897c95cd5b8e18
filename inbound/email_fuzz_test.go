package inbound

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseEmail feeds ParseEmail any bytes, seeded with the sample
// messages: it must return a result or an error, never panic, and a result
// must hold what the store needs of every email.
func FuzzParseEmail(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed messages: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\n\r\nhi\r\n--y--\r\n--x--\r\n"))
	f.Add([]byte("From: a@b.c\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/html; charset=koi8-r\r\n\r\n<p>=E1=\r\n=ZZ</p>"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := ParseEmail(bytes.NewReader(raw))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if in.From == "" || !strings.HasPrefix(in.MessageID, "<") || !strings.HasSuffix(in.MessageID, ">") {
			t.Errorf("From, MessageID = %q, %q", in.From, in.MessageID)
		}
		for name, s := range map[string]string{"Subject": in.Subject, "FromName": in.FromName, "TextBody": in.TextBody, "HTMLBody": in.HTMLBody} {
			if !utf8.ValidString(s) {
				t.Errorf("%s is not valid UTF-8: %q", name, s)
			}
		}
		if in.Bounce != nil && in.Bounce.Reason == "" {
			t.Errorf("bounce without a reason")
		}
	})
}
